"""Retriever tuning without training (finetune/retriever, app/retriever.py): training pairs from judgements
or the corpus, hard negatives mined with the project's retriever on the hashing embedder, the split by
query, the bad-input messages, and the retriever job's place in the job store. Training the real MiniLM
is in tests/integration/test_tune_retriever.py."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from conftest import make_project, run_main
from ragtune.app.retriever import Mining, build_training_data
from ragtune.config import ComponentSpec
from ragtune.documents.types import Chunk
from ragtune.finetune.jobs import job_dir, job_store
from ragtune.finetune.retriever.config import BACKEND, BASE
from ragtune.finetune.retriever.pairs import (
    MIN_HELDOUT_QUERIES,
    MIN_TRAIN_QUERIES,
    Pair,
    read_pairs,
    split_by_query,
    synthetic_queries,
    write_pairs,
)
from ragtune.project import Project
from ragtune.rag.ingest import ingest
from retriever_corpus import beir


def indexed_beir(tmp_path: Path, **kw) -> tuple[Project, Path, Path]:
    corpus, queries, qrels = beir(tmp_path / "beir", **kw)
    p = make_project(tmp_path / "proj")
    ingest(p, [corpus])
    return p, queries, qrels


def test_judged_pairs_have_their_document_as_positive_and_never_a_judged_document_as_negative(tmp_path):
    p, queries, qrels = indexed_beir(tmp_path, qrels=[(f"q{i}", f"d{i}") for i in range(32)] + [("q0", "d1")])
    data = build_training_data(p, tmp_path / "data", queries, qrels, mining=Mining(negatives=3, heldout=0.25))
    pairs = read_pairs(data.train) + read_pairs(data.heldout)
    assert len(pairs) == 33  # q0 is judged against two documents: a pair each
    texts = {c.doc_id: c.indexed_text for batch in p.store.iter_chunks() for c in batch}
    for pair in pairs:
        assert pair.positive == texts[pair.positive_doc] and pair.positive_doc in pair.relevant
        assert len(pair.negatives) == 3
        assert not {texts[d] for d in pair.relevant} & set(pair.negatives)
    q0 = [pair for pair in pairs if pair.query_id == "q0"]
    assert {pair.positive_doc for pair in q0} == {"d0", "d1"}
    assert all(texts["d1"] not in pair.negatives for pair in q0)


def test_negatives_are_what_the_retriever_ranks_high(tmp_path):
    # the judged document aside, the best-ranked passage for "cobalt" is the one other document that mentions it
    extra = {"near": "A short note on cobalt prices and nothing else."}
    p, queries, qrels = indexed_beir(tmp_path, extra_docs=extra)
    data = build_training_data(p, tmp_path / "data", queries, qrels, mining=Mining(negatives=2, margin=0.0))
    cobalt = next(pair for pair in read_pairs(data.train) + read_pairs(data.heldout) if pair.query_id == "q2")
    assert cobalt.negatives[0] == extra["near"]


def test_a_candidate_as_close_as_the_positive_is_taken_for_an_unjudged_relevant_one(tmp_path):
    # "dup" repeats d0's text: the retriever ranks it as high as d0, but nobody judged it
    dup = ("The apple report covers apple samples. Each apple sample was measured twice. Results for apple "
           "agree with earlier apple work.")
    p, queries, qrels = indexed_beir(tmp_path, extra_docs={"dup": dup})

    def apple(margin: float | None) -> Pair:
        data = build_training_data(p, tmp_path / f"data{margin}", queries, qrels, mining=Mining(negatives=3, margin=margin))
        return next(pair for pair in read_pairs(data.train) + read_pairs(data.heldout) if pair.query_id == "q0")

    assert dup not in apple(0.05).negatives
    assert dup in apple(-1.0).negatives  # a margin that excludes nothing: the duplicate is the hardest negative
    assert dup in apple(None).negatives  # the default for judged queries: the judgement decides, no margin


@pytest.mark.parametrize(("judged", "margin", "used"), [(True, None, -math.inf), (False, None, 0.05),
                                                       (True, 0.1, 0.1), (False, 0.0, 0.0)])
def test_the_default_margin_is_none_for_judged_queries_and_005_for_synthetic_ones(tmp_path, monkeypatch, judged,
                                                                                   margin, used):
    from ragtune.app import retriever

    seen = []
    real = retriever.mine_pairs
    monkeypatch.setattr(retriever, "mine_pairs", lambda q, r, n, m, *a, **k: seen.append(m) or real(q, r, n, m, *a, **k))
    p, queries, qrels = indexed_beir(tmp_path)
    build_training_data(p, tmp_path / "data", *((queries, qrels) if judged else ()), mining=Mining(margin=margin))
    assert seen == [used]


def test_the_split_is_by_query_and_the_heldout_queries_are_written_in_beir_layout(tmp_path):
    p, queries, qrels = indexed_beir(tmp_path, qrels=[(f"q{i}", f"d{i}") for i in range(32)] + [("q5", "d6")])
    data = build_training_data(p, tmp_path / "data", queries, qrels, mining=Mining(heldout=0.25, seed=3))
    train, held = read_pairs(data.train), read_pairs(data.heldout)
    assert not {x.query_id for x in train} & {x.query_id for x in held}
    assert len({x.query_id for x in train}) + len({x.query_id for x in held}) == 32
    assert (data.train_queries, data.heldout_queries) == (24, 8)
    beir_queries = [json.loads(line) for line in data.queries.read_text().splitlines()]
    assert sorted(q["_id"] for q in beir_queries) == sorted({x.query_id for x in held})
    lines = data.qrels.read_text().splitlines()
    assert lines[0] == "query-id\tcorpus-id\tscore"
    assert sorted(lines[1:]) == sorted(f"{x.query_id}\t{d}\t1" for x in {x.query_id: x for x in held}.values()
                                       for d in x.relevant)


def test_split_keeps_every_pair_of_a_query_on_one_side_whatever_the_order():
    pairs = [Pair(query_id=f"q{i // 2}", query="q", positive=f"p{i}", positive_doc=f"d{i}", negatives=[],
                  source="qrels", relevant={f"d{i}": 1}) for i in range(60)]
    train, held = split_by_query(pairs, 0.2, seed=1)
    _, held_again = split_by_query(list(reversed(pairs)), 0.2, seed=1)
    assert {x.query_id for x in held} == {x.query_id for x in held_again}
    for qid in {x.query_id for x in pairs}:
        sides = {"train" for x in train if x.query_id == qid} | {"held" for x in held if x.query_id == qid}
        assert len(sides) == 1
    assert len(held) == 12  # 6 of the 30 queries, two pairs each


def test_synthetic_queries_come_from_titles_headings_and_inverse_cloze_sentences():
    text = ("# Rotating the signing keys\nKeys are rotated every ninety days by the platform team. "
            "Old keys stay valid for a week after rotation. Nobody rotates them by hand.")
    chunk = Chunk("doc#0", "doc", 0, text, title="Key management handbook")
    queries = {q.source: q for q in synthetic_queries([chunk])}
    assert set(queries) == {"title", "heading", "cloze"}
    assert queries["title"].text == "Key management handbook" and queries["title"].relevant == {"doc": 1}
    assert queries["heading"].text == "Rotating the signing keys"
    assert "Rotating the signing keys" not in queries["heading"].positive_text
    cloze = queries["cloze"]
    assert cloze.text in text and cloze.text not in cloze.positive_text
    assert cloze.positive_text.startswith("Key management handbook\n")  # the positive keeps its title as indexed


def test_without_judgements_the_corpus_gives_the_queries(tmp_path):
    p, _, _ = indexed_beir(tmp_path)
    data = build_training_data(p, tmp_path / "data", mining=Mining(negatives=2))
    assert set(data.sources) == {"cloze"}  # the corpus has no titles or headings
    train, held = read_pairs(data.train), read_pairs(data.heldout)
    assert not {x.positive_doc for x in train} & {x.positive_doc for x in held}  # a document on one side only


@pytest.fixture
def tune(monkeypatch, capsys):
    """``ragtune tune ...`` through the installed entry point: (exit code, stdout and stderr together)."""

    def run(project: Path, *args: str) -> tuple[int, str]:
        code, out, err = run_main(monkeypatch, capsys, "tune", *args, "--project", project)
        return code, out + err

    return run


def test_too_few_queries_says_how_many_are_needed(tmp_path, tune):
    p, queries, qrels = indexed_beir(tmp_path, n_queries=12)
    code, output = tune(p.root, "retriever", "--queries", str(queries), "--qrels", str(qrels))
    assert code == 2
    assert "12 usable" in output and f"at least {MIN_TRAIN_QUERIES} training and {MIN_HELDOUT_QUERIES} held-out" in output
    assert "about 21 queries" in output
    assert not (p.root / "jobs.db").exists()


def test_qrels_naming_documents_not_in_the_index_are_refused(tmp_path, tune):
    p, queries, qrels = indexed_beir(tmp_path, qrels=[(f"q{i}", f"d{i}") for i in range(30)] + [("q1", "gone")])
    code, output = tune(p.root, "retriever", "--queries", str(queries), "--qrels", str(qrels))
    assert code == 2 and "1 document(s) that are not in the index (e.g. 'gone')" in output


def test_a_corpus_too_small_to_mine_negatives_is_refused(tmp_path, tune):
    p, queries, qrels = indexed_beir(tmp_path, n_docs=4, n_queries=4)
    code, output = tune(p.root, "retriever", "--queries", str(queries), "--qrels", str(qrels), "--negatives", "4")
    assert code == 2 and "holds 4 document(s): too few to mine 4 hard negatives" in output


def test_queries_without_qrels_are_refused(tmp_path, tune):
    p, queries, _ = indexed_beir(tmp_path)
    code, output = tune(p.root, "retriever", "--queries", str(queries))
    assert code == 2 and "give both --queries and --qrels" in output


def finished_job(p: Project, kind: str, tmp_path: Path):
    """A succeeded retriever job with its outputs in place (files stand in for the trained models)."""
    pairs = write_pairs(tmp_path / "pairs.json", [])
    store = job_store(p.root)
    job = store.create(BASE, str(pairs), "sha", str(pairs), "sha", {"kind": kind}, BACKEND)
    out = job_dir(p.root, job.id)
    for f in ("onnx/model.onnx", "onnx/tokenizer.json", "model/config.json"):
        (out / f).parent.mkdir(parents=True, exist_ok=True)
        (out / f).write_text("{}")
    store.update(job.id, status="succeeded")
    return store.get(job.id)


def test_a_tuned_reranker_becomes_the_projects(tmp_path, tune):
    p, _, _ = indexed_beir(tmp_path)
    job = finished_job(p, "reranker", tmp_path)
    code, output = tune(p.root, "use", job.id)
    assert code == 0, output
    reranker = Project(p.root).config.reranker
    assert reranker is not None and reranker.type == "cross-encoder"
    assert reranker.params["model"] == str((job_dir(p.root, job.id) / "model").resolve())


def test_a_tuned_embedder_re_embeds_the_index_or_makes_a_new_project(tmp_path, tune, monkeypatch):
    p, _, _ = indexed_beir(tmp_path)
    job = finished_job(p, "embedder", tmp_path)
    new = tmp_path / "tuned-project"
    code, output = tune(p.root, "use", job.id, "--into", str(new))
    assert code == 0, output
    config = Project(new).config
    assert config.embedder.type == "onnx"
    assert config.embedder.params["model"] == str((job_dir(p.root, job.id) / "onnx" / "model.onnx").resolve())
    assert config.store.type == "chroma" and config.store.params == {}
    assert tune(p.root, "use", job.id, "--into", str(new))[0] == 2  # never over an existing project
    # over the existing index (the files above stand in for a model: the hashing embedder plays the tuned one)
    from ragtune.app import retriever

    tuned = ComponentSpec(type="hashing", params={"dimension": 96})
    real = retriever.tuned_component
    monkeypatch.setattr(retriever, "tuned_component", lambda root, j: (real(root, j)[0], tuned))
    chunks = p.store.count()
    code, output = tune(p.root, "use", job.id)
    assert code == 0 and f"{chunks} chunks re-embedded" in output, output
    assert Project(p.root).config.embedder == tuned and Project(p.root).store.count() == chunks
    assert tune(p.root, "reembed")[0] == 2  # nothing is pending


def test_a_switch_under_way_refuses_another_and_finishes_when_asked_again(tmp_path, tune, monkeypatch):
    from ragtune.app import retriever
    from ragtune.rag import reembed

    p, _, _ = indexed_beir(tmp_path)
    job = finished_job(p, "embedder", tmp_path)
    real = retriever.tuned_component
    monkeypatch.setattr(retriever, "tuned_component",
                        lambda root, j: (real(root, j)[0], ComponentSpec(type="hashing", params={"dimension": 96})))
    reembed.start(p, ComponentSpec(type="hashing", params={"dimension": 32}), "job other's embedder")
    code, output = tune(p.root, "use", job.id)
    assert code == 2 and "being re-embedded for job other's embedder" in output
    code, output = tune(p.root, "reembed")
    assert code == 0 and "the embedder is now job other's embedder" in output
    assert Project(p.root).config.embedder.params == {"dimension": 32}


def test_a_retriever_job_is_no_generator_and_takes_no_lora_settings(tmp_path, tune, monkeypatch, capsys):
    p, _, _ = indexed_beir(tmp_path)
    job = finished_job(p, "embedder", tmp_path)
    code, _, err = run_main(monkeypatch, capsys, "ask", "what about apple?", "--model", job.model_name,
                              "--project", p.root)
    assert code == 2 and "is a retriever" in err
    code, output = tune(p.root, "eval", job.id)
    assert code == 2 and f"ragtune eval retrieval --job {job.id}" in output
    assert "succeeded" in tune(p.root, "list")[1]
    chat = tmp_path / "chat.jsonl"
    chat.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"},
                                             {"role": "assistant", "content": "hello"}]}) + "\n")
    code, output = tune(p.root, "start", "--train", str(chat), "--backend", BACKEND)
    assert code == 2 and "use 'ragtune tune retriever'" in output


def test_only_a_succeeded_retriever_job_can_be_used(tmp_path, tune):
    p, _, _ = indexed_beir(tmp_path)
    job = finished_job(p, "reranker", tmp_path)
    job_store(p.root).update(job.id, status="failed", error="boom")
    code, output = tune(p.root, "use", job.id)
    assert code == 2 and "is failed" in output and "boom" in output


@pytest.mark.parametrize("kind", ["sideways"])
def test_an_unknown_kind_is_refused(tmp_path, tune, kind):
    p, queries, qrels = indexed_beir(tmp_path)
    code, output = tune(p.root, "retriever", "--queries", str(queries), "--qrels", str(qrels), "--kind", kind)
    assert code == 2 and "not 'sideways'" in output


@pytest.mark.parametrize(("flags", "rates"), [((), {"embedder": 5e-5, "reranker": 1e-4}),
                                               (("--lr", "3e-5"), {"embedder": 3e-5, "reranker": 3e-5})])
def test_each_job_records_the_learning_rate_it_trains_with(tmp_path, tune, monkeypatch, flags, rates):
    # none given: each kind its own (the re-ranker's head starts untrained and needs a higher one); given: both
    from ragtune.finetune.backends.retriever import RetrieverBackend

    monkeypatch.setattr(RetrieverBackend, "submit", lambda *a, **k: None)  # created, not trained
    p, queries, qrels = indexed_beir(tmp_path)
    code, output = tune(p.root, "retriever", "--queries", str(queries), "--qrels", str(qrels), *flags)
    assert code == 0, output
    jobs = job_store(p.root).list()
    assert {j.config["kind"]: j.config["lr"] for j in jobs} == rates


def test_a_mini_batch_below_one_is_refused_before_anything_is_mined(tmp_path, tune):
    p, queries, qrels = indexed_beir(tmp_path)
    code, output = tune(p.root, "retriever", "--queries", str(queries), "--qrels", str(qrels), "--mini-batch-size", "0")
    assert code == 2 and "mini_batch_size must be at least 1" in output
    assert not (p.root / "retriever-data").exists() and job_store(p.root).list() == []


def test_generated_questions_are_kept_only_when_their_chunk_answers_them(tmp_path):
    p, _, _ = indexed_beir(tmp_path)
    script = ["Question: How many times was each sample measured in this report?\nAnswer: twice",
              "Question: Which colour was the sample painted?\nAnswer: bright purple"]  # the chunk does not say
    spec = ComponentSpec(type="scripted", params={"script": script})
    data = build_training_data(p, tmp_path / "data", questions_per_chunk=1, question_chunks=6, generator_spec=spec,
                               mining=Mining(negatives=2))
    generated = [x for x in read_pairs(data.train) + read_pairs(data.heldout) if x.source == "generated"]
    assert [x.query for x in generated] == ["How many times was each sample measured in this report?"]
    assert "measured twice" in generated[0].positive  # the chunk it was asked about is its positive


def test_a_later_run_never_overwrites_the_files_an_earlier_job_recorded(tmp_path):
    p, queries, qrels = indexed_beir(tmp_path)
    first = build_training_data(p, tmp_path / "data", queries, qrels)
    recorded = first.train.read_bytes()
    again = build_training_data(p, tmp_path / "data", queries, qrels)
    other = build_training_data(p, tmp_path / "data", queries, qrels, mining=Mining(seed=1))
    assert again.train == first.train and first.train.read_bytes() == recorded
    assert other.train.parent != first.train.parent and first.train.read_bytes() == recorded
    assert sorted(x.name for x in (tmp_path / "data").iterdir()) == sorted([first.train.parent.name,
                                                                               other.train.parent.name])


def _written_about_each_chunk(monkeypatch, n: int):
    """The generator's questions, one about each of the first ``n`` chunks (the model call is not the subject)."""
    from ragtune.app import retriever
    from ragtune.finetune.retriever.pairs import generated_queries

    monkeypatch.setattr(retriever, "_generated", lambda project, chunks, *a: generated_queries(
        (f"what does the report on chunk {c.chunk_id} say was measured twice?", c)
        for c in sorted(chunks, key=lambda c: c.chunk_id)[:n]))


def _pair_sources(data) -> list[str]:
    return [x.source for x in read_pairs(data.train) + read_pairs(data.heldout)]


def test_corpus_queries_choose_the_kinds_made_from_the_corpus(tmp_path, monkeypatch):
    _written_about_each_chunk(monkeypatch, 32)
    p, _, _ = indexed_beir(tmp_path)
    both = build_training_data(p, tmp_path / "both", questions_per_chunk=1, mining=Mining(negatives=1))
    only = build_training_data(p, tmp_path / "only", questions_per_chunk=1, mining=Mining(negatives=1, corpus_queries=()))
    assert sorted(set(_pair_sources(both))) == ["cloze", "generated"]
    assert set(_pair_sources(only)) == {"generated"} and _pair_sources(only).count("generated") == 32


def test_a_sample_keeps_every_generated_question_and_fills_the_rest_from_the_corpus(tmp_path, monkeypatch):
    _written_about_each_chunk(monkeypatch, 10)
    p, _, _ = indexed_beir(tmp_path)
    data = build_training_data(p, tmp_path / "data", questions_per_chunk=1,
                               mining=Mining(negatives=1, max_queries=24))  # 32 cloze + 10 generated found
    sources = _pair_sources(data)
    assert (sources.count("generated"), sources.count("cloze")) == (10, 14)


@pytest.mark.parametrize(("flag", "message"), [
    ("cloze,caption", "unknown kind of corpus query: caption (choose from title, heading, cloze)"),
    ("", "no queries to train on"),
])
def test_corpus_queries_that_give_nothing_to_train_on_are_refused(tmp_path, tune, flag, message):
    p, _, _ = indexed_beir(tmp_path)
    code, output = tune(p.root, "retriever", "--corpus-queries", flag)
    assert code == 2 and message in " ".join(output.split())
    assert not (p.root / "retriever-data").exists() and job_store(p.root).list() == []
