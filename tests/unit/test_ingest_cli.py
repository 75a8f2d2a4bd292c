"""Ingest and retrieval evaluation as a user meets them on the command line: pruning, metadata,
BEIR files with defects, judged documents missing from the index."""

import json

from typer.testing import CliRunner

from conftest import run_main, write_files
from ragtune.cli.app import app
from ragtune.project import Project

runner = CliRunner()


def cli(*args, code: int = 0):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr, result.exception)
    return result


def ingest(*args, code: int = 0) -> dict:
    return json.loads(cli("ingest", *args, "--json", code=code).stdout)


def init(proj):
    cli("project", "init", "-p", proj, "--embedder", "hashing", "--generator", "scripted")
    return proj


def doc_ids(proj) -> list[str]:
    return sorted(Project(proj).store.documents())


def test_prune_removes_only_what_is_gone_and_prune_excluded_the_rest(tmp_path):
    docs = write_files(tmp_path / "docs", {"a.md": "# A\n\nAlpha.", "b.txt": "Bravo.", "c.html": "<p>Charlie.</p>",
                                           "corpus.jsonl": '{"_id": "j1", "text": "Juliet one."}\n'
                                                           '{"_id": "j2", "text": "Juliet two."}\n'})
    proj = init(tmp_path / "proj")
    assert ingest(docs, "-p", proj)["added"] == 5
    r = ingest(docs, "--include", "*.md", "--prune", "-p", proj)
    assert (r["unchanged"], r["removed"]) == (1, 0)
    assert doc_ids(proj) == ["docs/a.md", "docs/b.txt", "docs/c.html", "j1", "j2"]
    # gone is gone, whether or not the globs take it; a corpus line removed is a document gone
    (docs / "b.txt").unlink()
    (docs / "corpus.jsonl").write_text('{"_id": "j1", "text": "Juliet one."}\n')
    assert ingest(docs, "--include", "*.md", "--prune", "-p", proj)["removed"] == 1
    assert ingest(docs, "--include", "*.jsonl", "--prune", "-p", proj)["removed"] == 1
    assert doc_ids(proj) == ["docs/a.md", "docs/c.html", "j1"]
    r = ingest(docs, "--include", "*.md", "--prune-excluded", "-p", proj)
    assert r["removed"] == 2 and doc_ids(proj) == ["docs/a.md"]
    help_text = " ".join(cli("ingest", "--help").stdout.split())
    assert "whose file was deleted" in help_text and "--prune-excluded" in help_text


def test_a_file_that_fails_to_load_is_not_pruned(tmp_path):
    docs = write_files(tmp_path / "docs", {"a.md": "# A\n\nAlpha.", "b.md": "# B\n\nBravo."})
    proj = init(tmp_path / "proj")
    ingest(docs, "-p", proj)
    (docs / "b.md").write_text("---\ntitle: [unclosed\n---\nBravo.")
    r = ingest(docs, "--prune", "-p", proj, code=3)
    assert r["removed"] == 0 and doc_ids(proj) == ["docs/a.md", "docs/b.md"]


def test_nested_front_matter_is_flattened_into_filterable_keys(tmp_path):
    docs = write_files(tmp_path / "docs", {
        "a.md": "---\nauthor:\n  name: Ann\n  team: {id: 7}\ntags: [api, billing, two words]\n---\nAlpha zulu.",
        "b.md": "---\nauthor:\n  name: Bob\ntags: [api]\n---\nBravo zulu."})
    proj = init(tmp_path / "proj")
    ingest(docs, "-p", proj)
    (chunk,) = Project(proj).store.get(["docs/a.md#0"])
    assert {k: v for k, v in chunk.metadata.items() if k != "source"} == {
        "author.name": "Ann", "author.team.id": 7, "tags": "api, billing, two words", "tags.api": True,
        "tags.billing": True}

    def hits(*filters):
        args = [a for f in filters for a in ("--filter", f)]
        return sorted(h["doc_id"] for h in json.loads(cli("search", "zulu", "-p", proj, *args, "--json").stdout))

    assert hits("author.name=Ann") == ["docs/a.md"]
    assert hits("author.team.id>=7") == ["docs/a.md"]
    assert hits("tags.api=true") == ["docs/a.md", "docs/b.md"]
    assert hits("tags.billing=true") == ["docs/a.md"]


def test_duplicate_beir_id_names_file_and_line(tmp_path, monkeypatch, capsys):
    corpus = write_files(tmp_path, {"corpus.jsonl": '{"_id": "d1", "text": "One."}\n\n'
                                                    '{"_id": "d2", "text": "Two."}\n{"_id": "d1", "text": "Again."}\n'})
    proj = init(tmp_path / "proj")
    r = ingest(corpus / "corpus.jsonl", "-p", proj, code=3)
    assert r["added"] == 2
    assert r["skipped"] == [f"{corpus / 'corpus.jsonl'}:4: duplicate _id 'd1' (first on line 1), skipped"]
    (chunk,) = Project(proj).store.get(["d1#0"])
    assert chunk.text == "One."
    queries = write_files(tmp_path, {"q.jsonl": '{"_id": "q1", "text": "one"}\n{"_id": "q1", "text": "two"}\n',
                                     "qrels.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\n"})
    code, _, err = run_main(monkeypatch, capsys, "eval", "retrieval", "--queries", queries / "q.jsonl",
                            "--qrels", queries / "qrels.tsv", "-p", proj)
    assert code == 2 and err == f"error: {queries / 'q.jsonl'}:2: duplicate _id 'q1' (first on line 1)"


def test_eval_retrieval_warns_when_judged_documents_are_missing_and_fails_when_all_are(
        tmp_path, monkeypatch, capsys):
    corpus = write_files(tmp_path, {"corpus.jsonl": '{"_id": "d1", "text": "Apples are red."}\n'})
    proj = init(tmp_path / "proj")
    ingest(corpus / "corpus.jsonl", "-p", proj)
    write_files(tmp_path, {"q.jsonl": '{"_id": "q1", "text": "apples"}\n{"_id": "q2", "text": "pears"}\n'
                                      '{"_id": "q3", "text": "plums"}\n',
                           "qrels.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td3\t1\n",
                           "none.tsv": "query-id\tcorpus-id\tscore\nq2\td2\t1\nq3\td3\t1\n"})
    args = ("eval", "retrieval", "--queries", tmp_path / "q.jsonl", "-p", proj)
    code, out, err = run_main(monkeypatch, capsys, *args, "--qrels", tmp_path / "qrels.tsv", "--json")
    result = json.loads(out)
    assert code == 0 and (result["judged_docs"], result["judged_docs_not_indexed"]) == (3, 2)
    assert "warning: 2 of the 3 documents the qrels judge relevant are not in the index" in err
    code, out, err = run_main(monkeypatch, capsys, *args, "--qrels", tmp_path / "none.tsv")
    assert code == 2 and "none of the 2 documents the qrels judge relevant is in the index" in err
