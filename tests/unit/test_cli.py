import json
import math
import os
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from conftest import CORPUS, run_main, write_files
from ragtune.cli.app import app

runner = CliRunner()


def cli(*args: str, code: int = 0):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr, result.exception)
    return result


def cli_json(*args: str, code: int = 0):
    return json.loads(cli(*args, "--json", code=code).stdout)


def flat(text: str) -> str:
    return " ".join(text.split())


def init(path, *extra):
    cli("project", "init", "-p", path, "--embedder", "hashing", "--generator", "scripted", *extra)


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    """A project with CORPUS ingested through the CLI, shared by the read-only tests."""
    tmp = tmp_path_factory.mktemp("cli")
    write_files(tmp / "docs", CORPUS)
    init(tmp / "proj")
    report = cli_json("ingest", tmp / "docs" / "kb", "-p", tmp / "proj")
    assert report["added"] == len(CORPUS) and report["skipped"] == []
    return tmp / "proj"


# --- project ------------------------------------------------------------------------------------

def test_project_init_and_show(tmp_path, monkeypatch, capsys):
    proj = tmp_path / "p"
    cfg = cli_json("project", "init", "-p", proj, "--embedder", "hashing", "--generator", "scripted",
                   "--chunker", "token", "--set", "retrieval.k=3", "--set", "embedder.params.dimension=64",
                   "--set", "answer.min_relevance=0.1")
    assert cfg["embedder"] == {"type": "hashing", "params": {"dimension": 64}}
    assert cfg["chunker"]["type"] == "token" and cfg["generator"]["type"] == "scripted"
    assert cfg["retrieval"]["k"] == 3 and cfg["answer"]["min_relevance"] == 0.1
    assert json.loads((proj / "config.json").read_text()) == cfg
    shown = cli_json("project", "show", "-p", proj)
    assert shown["config"] == cfg and shown["chunks"] == 0

    code, _, err = run_main(monkeypatch, capsys, "project", "init", "-p", proj)
    assert code == 2 and "already exists" in err
    code, _, err = run_main(monkeypatch, capsys, "project", "init", "-p", tmp_path / "q", "--set", "retrieval.k=0")
    assert code == 2 and "invalid setting" in err and not (tmp_path / "q" / "config.json").exists()
    code, _, err = run_main(monkeypatch, capsys, "project", "init", "-p", tmp_path / "q", "--set", "nokey")
    assert code == 2 and "--set expects section.key=value" in err


def test_project_set_changes_an_existing_config_or_nothing(tmp_path, monkeypatch, capsys):
    proj = tmp_path / "p"
    init(proj)
    cfg = cli_json("project", "set", 'serve.variants={"rag": 0.9, "base": 0.1}', "retrieval.k=7", "-p", proj)
    assert cfg["serve"]["variants"] == {"rag": 0.9, "base": 0.1} and cfg["retrieval"]["k"] == 7
    assert cfg["embedder"]["type"] == "hashing"  # untouched settings stay
    assert cli_json("project", "set", "reranker.type=overlap", "-p", proj)["reranker"] == {"type": "overlap",
                                                                                           "params": {}}
    assert cli_json("project", "set", "reranker=null", "serve.retention_days=null", "-p", proj)["reranker"] is None
    before = (proj / "config.json").read_text()
    for bad, message in ((["retrieval.k=0"], "invalid setting"), (['serve.variants={"rag": '], "not valid JSON"),
                         (['serve.variants={"rag": -1}'], "invalid setting"),
                         # a component's parameters are checked by building it, not when a command first needs it
                         (["generator.type=llamacpp", "generator.params.requantize=Q2_K"],
                          "invalid setting generator: cannot re-quantise to 'Q2_K'"),
                         (["generator.type=llamacpp", "generator.params.slots=0"],
                          "invalid setting generator: slots must be at least 1"),
                         (["embedder.params.dimension=wide"], "invalid setting embedder: bad parameters for embedder "
                                                              "'hashing': dimension"),
                         (["chunker.params.colour=red"], "unexpected keyword argument 'colour'"),
                         (["reranker.type=nope"], "invalid setting reranker: unknown reranker 'nope'"),
                         (['serve.remotes={"gpt": {"generator": {"type": "openai", "params": {"timeout": "soon"}}}}'],
                          "invalid setting serve.remotes.gpt.generator: bad parameters for generator 'openai'")):
        code, _, err = run_main(monkeypatch, capsys, "project", "set", *bad, "-p", proj)
        assert code == 2 and message in " ".join(err.split()), (bad, err)
    assert (proj / "config.json").read_text() == before
    code, _, err = run_main(monkeypatch, capsys, "project", "set", "retrieval.k=2", "-p", tmp_path / "none")
    assert code == 2 and "no project" in err


# --- ingest -------------------------------------------------------------------------------------

def test_ingest_table_then_json_then_partial_exit(tmp_path):
    docs = write_files(tmp_path / "docs", {"a.txt": "Alpha text.", "b.md": "# B\n\nBravo text."})
    proj = tmp_path / "proj"
    init(proj)
    table = cli("ingest", docs, "-p", proj).stdout
    rows = [[cell.strip() for cell in re.split("[│┃]", line)[1:-1]] for line in table.splitlines()
            if re.search("[│┃]", line)]
    assert rows[0] == ["added", "updated", "unchanged", "removed", "chunks", "skipped", "seconds"]
    assert rows[1][:6] == ["2", "0", "0", "0", "2", "0"] and float(rows[1][6]) >= 0

    assert cli_json("ingest", docs, "-p", proj) == {"added": 0, "updated": 0, "unchanged": 2, "removed": 0,
                                                    "chunks": 0, "seconds": pytest.approx(0, abs=30),
                                                    "skipped": []}

    (docs / "empty.txt").write_text("")
    (docs / "c.txt").write_text("Charlie text.")
    result = cli("ingest", docs, "-p", proj, "--json", code=3)
    report = json.loads(result.stdout)
    assert (report["added"], report["unchanged"]) == (1, 2)
    assert report["skipped"] == [f"{(docs / 'empty.txt').resolve()}: empty file"]
    assert "skipped" in result.stderr and "empty.txt" in flat(result.stderr)
    assert cli_json("project", "show", "-p", proj)["chunks"] == 3


def test_ingest_meta_is_stored_and_filterable(tmp_path):
    docs = write_files(tmp_path / "docs", {"a.txt": "Alpha text.", "b.txt": "Alpha again."})
    proj = tmp_path / "proj"
    init(proj)
    report = cli_json("ingest", docs / "a.txt", "-p", proj, "--meta", "team=ops", "--meta", "year=2024")
    assert report["added"] == 1
    assert cli_json("ingest", docs / "b.txt", "-p", proj, "--meta", "team=dev", "--meta", "year=2023")["added"] == 1
    rows = cli_json("search", "alpha", "-p", proj, "--filter", "year>=2024", "--filter", "team=ops")
    assert [r["doc_id"] for r in rows] == ["a.txt"]
    assert rows[0]["metadata"]["team"] == "ops" and rows[0]["metadata"]["year"] == 2024


# --- search / ask -------------------------------------------------------------------------------

def test_search_json_with_filter(kb):
    rows = cli_json("search", "refunds business days", "-p", kb, "-k", "4")
    assert rows[0]["doc_id"] == "kb/refunds.md" and [r["rank"] for r in rows] == [1, 2, 3, 4]
    rows = cli_json("search", "refunds business days", "-p", kb, "--filter", "category!=billing", "-k", "4")
    assert len(rows) == 4 and all(r["metadata"]["category"] != "billing" for r in rows)
    rows = cli_json("search", "refunds business days", "-p", kb, "--mode", "bm25",
                    "--filter", "updated<2024-01-01")
    assert [r["doc_id"] for r in rows] == ["kb/billing.md"]
    assert set(rows[0]) == {"rank", "score", "chunk_id", "doc_id", "title", "text", "metadata", "scores"}
    assert rows[0]["chunk_id"] == "kb/billing.md#0" and set(rows[0]["scores"]) == {"bm25"}


def test_search_table(kb):
    out = cli("search", "webhooks retry", "-p", kb, "-k", "1").stdout
    assert "kb/webhooks.md#0" in out and "hybrid search" in out


def test_ask_json_with_scripted_generator(kb):
    a = cli_json("ask", "How many times do webhooks retry failed deliveries?", "-p", kb)
    assert a["answer"] == "Webhooks retry failed deliveries eight times with exponential backoff. [1]"
    assert not a["refused"]
    assert [(c["n"], c["chunk_id"], c["doc_id"]) for c in a["citations"]] == [(1, "kb/webhooks.md#0",
                                                                                "kb/webhooks.md")]
    assert a["contexts"][0]["chunk_id"] == "kb/webhooks.md#0"
    refused = cli_json("ask", "zebra quantum xylophone", "-p", kb)
    assert refused["refused"] and refused["citations"] == [] and "relevant enough" in refused["reason"]
    out = cli("ask", "How many times do webhooks retry failed deliveries?", "-p", kb).stdout
    assert "eight times" in out and "kb/webhooks.md" in out


# --- eval ---------------------------------------------------------------------------------------

@pytest.fixture
def beir(tmp_path):
    corpus = [{"_id": "d1", "text": "apple banana"}, {"_id": "d2", "text": "cherry cherry cherry date"},
              {"_id": "d3", "text": "cherry elderberry fig grape"}, {"_id": "d4", "text": "kiwi lemon mango"}]
    queries = [{"_id": "q1", "text": "apple"}, {"_id": "q2", "text": "cherry"}, {"_id": "q3", "text": "kiwi"},
               {"_id": "q4", "text": "unjudged query"}]
    qrels = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\nq3\td4\t1\nq3\td1\t1\n"
    write_files(tmp_path / "data", {
        "corpus.jsonl": "\n".join(json.dumps(r) for r in corpus),
        "queries.jsonl": "\n".join(json.dumps(r) for r in queries),
        "qrels.tsv": qrels})
    proj = tmp_path / "proj"
    init(proj)
    assert cli_json("ingest", tmp_path / "data" / "corpus.jsonl", "-p", proj)["added"] == 4
    return proj, tmp_path / "data"


def test_eval_retrieval_hand_computed(beir, tmp_path):
    proj, data = beir
    per_query = tmp_path / "per_query.json"
    result = cli_json("eval", "retrieval", "--queries", data / "queries.jsonl", "--qrels", data / "qrels.tsv",
                      "-p", proj, "--mode", "bm25", "--per-query", per_query)
    # q1 ranks d1 first; q2 ranks d2 then the relevant d3; q3 finds d4 but never d1
    ndcg = {"q1": 1.0, "q2": 1 / math.log2(3), "q3": 1 / (1 + 1 / math.log2(3))}
    recall = {"q1": 1.0, "q2": 1.0, "q3": 0.5}
    mrr = {"q1": 1.0, "q2": 0.5, "q3": 1.0}
    assert result["mode"] == "bm25" and result["queries"] == 3
    assert result["ndcg@10"] == pytest.approx(sum(ndcg.values()) / 3)
    assert result["recall@10"] == pytest.approx(2.5 / 3) == result["recall@100"]
    assert result["mrr@10"] == pytest.approx(2.5 / 3)
    details = json.loads(per_query.read_text())
    for q in ndcg:
        assert details[q]["ndcg@10"] == pytest.approx(ndcg[q])
        assert details[q]["recall@10"] == pytest.approx(recall[q])
        assert details[q]["mrr@10"] == pytest.approx(mrr[q])
    # a cut-off of 1 keeps only the first document
    result = cli_json("eval", "retrieval", "--queries", data / "queries.jsonl", "--qrels", data / "qrels.tsv",
                      "-p", proj, "--mode", "bm25", "-k", "1")
    assert result["ndcg@1"] == pytest.approx((1 + 0 + 1) / 3)
    assert result["recall@1"] == pytest.approx((1 + 0 + 0.5) / 3)


def test_eval_qa_writes_results_and_reports(tmp_path, monkeypatch):
    docs = write_files(tmp_path / "docs", {
        "geo.txt": "Paris is the capital of France. Berlin is a large city in Germany.",
        "space.txt": "The sky on Mars is butterscotch during the day."})
    questions = [{"_id": "1", "question": "What is the capital of France?",
                  "answer": "Paris is the capital of France"},
                 {"_id": "2", "question": "What color is the sky on Mars?", "answer": "butterscotch"},
                 {"_id": "3", "question": "Who painted the Mona Lisa?", "answer": ""}]
    qfile = write_files(tmp_path, {"questions.jsonl": "\n".join(json.dumps(q) for q in questions)}) / \
        "questions.jsonl"
    proj = tmp_path / "proj"
    init(proj)
    cli("ingest", docs, "-p", proj)
    results = tmp_path / "out" / "qa.jsonl"
    results.parent.mkdir()
    s = cli_json("eval", "qa", "--questions", qfile, "-p", proj, "--mode", "bm25", "--results", results)
    # q1 exact; q2 answers a 7-token sentence containing the 1-token reference: F1 = 2(1/7)/(1/7 + 1) = 1/4
    assert s["questions"] == 3
    assert s["exact_match"] == pytest.approx(0.5)
    assert s["f1"] == pytest.approx((1 + 0.25) / 2)
    assert s["refusal_rate"] == pytest.approx(1 / 3)
    assert s["false_refusal_rate"] == 0.0 and s["refusal_recall"] == 1.0 and s["refusal_precision"] == 1.0
    assert s["results"] == str(results)
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert [(r["exact_match"], r["refused"], r["answerable"]) for r in rows] == [(1.0, False, True),
                                                                                 (0.0, False, True),
                                                                                 (None, True, False)]
    assert rows[1]["f1"] == pytest.approx(0.25)
    assert rows[0]["citations"] == ["docs/geo.txt#0"] and rows[1]["citations"] == ["docs/space.txt#0"]
    # --limit, and the default results file in the working directory
    monkeypatch.chdir(tmp_path)
    s = cli_json("eval", "qa", "--questions", qfile, "-p", proj, "--mode", "bm25", "--limit", "1")
    assert s["questions"] == 1 and s["exact_match"] == 1.0
    assert len((tmp_path / "qa_results.jsonl").read_text().splitlines()) == 1


# --- errors: message and exit status 2 ----------------------------------------------------------

def test_search_before_any_ingest(tmp_path, monkeypatch, capsys):
    init(tmp_path / "proj")
    code, out, err = run_main(monkeypatch, capsys, "search", "anything", "-p", tmp_path / "proj")
    assert code == 2 and out == ""
    assert err == f"error: no index in {tmp_path / 'proj'}; run 'ragtune ingest PATH' first"


@pytest.mark.parametrize("args, message", [
    (["search", "x", "--filter", "year>=soon"], "compares numbers or ISO dates"),
    (["search", "x", "--filter", "category"], "cannot parse filter 'category'"),
    (["ask", "x", "--filter", "tag in ,"], "lists no values"),
    (["search", "x", "--filter", "year in 2024,true"], "cannot mix true/false with numbers"),
    (["search", "x", "--mode", "fuzzy"], "unknown search mode 'fuzzy'"),
    (["search", "   "], "empty query"),
])
def test_bad_search_input(kb, monkeypatch, capsys, args, message):
    code, out, err = run_main(monkeypatch, capsys, *args, "-p", kb)
    assert code == 2 and out == "" and message in err and err.startswith("error:")
    assert "Traceback" not in err


def test_missing_questions_file(kb, tmp_path, monkeypatch, capsys):
    missing = tmp_path / "nope.jsonl"
    code, _, err = run_main(monkeypatch, capsys, "eval", "qa", "--questions", missing, "-p", kb,
                            "--results", tmp_path / "r.jsonl")
    assert code == 2 and err == f"error: {missing}: no such file"


@pytest.mark.parametrize("qrels, message", [
    ("query-id\tcorpus-id\tscore\nq1\td1\tyes\n", ":2: expected query-id, corpus-id and an integer score"),
    ("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2 d2 1\n", ":3: expected query-id, corpus-id and an integer score"),
    ("just one column\n", "expected a header"),
    ("", "expected a header"),
])
def test_malformed_qrels(kb, tmp_path, monkeypatch, capsys, qrels, message):
    write_files(tmp_path, {"q.jsonl": '{"_id": "q1", "text": "refunds"}\n', "qrels.tsv": qrels})
    code, _, err = run_main(monkeypatch, capsys, "eval", "retrieval", "--queries", tmp_path / "q.jsonl",
                            "--qrels", tmp_path / "qrels.tsv", "-p", kb)
    assert code == 2 and f"{tmp_path / 'qrels.tsv'}" in err and message in err


@pytest.mark.parametrize("content, message", [
    ('{"_id": "q1", "text": "ok"}\n{"_id": "q2", "text": \n', "q.jsonl:2: malformed JSON"),
    ('{"_id": "q1"}\n', "q.jsonl:1: missing field(s) text"),
    ("\n\n", "no rows"),
])
def test_malformed_queries(kb, tmp_path, monkeypatch, capsys, content, message):
    write_files(tmp_path, {"q.jsonl": content, "qrels.tsv": "query-id\tcorpus-id\tscore\n"})
    code, _, err = run_main(monkeypatch, capsys, "eval", "retrieval", "--queries", tmp_path / "q.jsonl",
                            "--qrels", tmp_path / "qrels.tsv", "-p", kb)
    assert code == 2 and message in err


def test_bad_meta_and_missing_input(tmp_path, monkeypatch, capsys):
    init(tmp_path / "proj")
    code, _, err = run_main(monkeypatch, capsys, "ingest", tmp_path, "-p", tmp_path / "proj", "--meta", "novalue")
    assert code == 2 and "--meta expects key=value" in err
    code, out, err = run_main(monkeypatch, capsys, "ingest", tmp_path, tmp_path / "missing", "-p", tmp_path / "proj",
                              "--json")
    assert code == 2 and out == "" and err == f"error: no such file or directory: {tmp_path / 'missing'}"
    assert not (tmp_path / "proj" / "store").exists()  # nothing was ingested


def test_entry_point_in_a_subprocess(tmp_path):
    """The real process: exit status 2 and a one-line message on stderr, no traceback."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "ragtune.cli.app", "search", "x", "-p", str(tmp_path / "none")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert flat(proc.stderr) == f"error: no index in {tmp_path / 'none'}; run 'ragtune ingest PATH' first"
