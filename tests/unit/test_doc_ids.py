"""Document identity through the CLI: two files never share an id, one file reached by any path is
one document, moves are re-recorded, and a project built by the previous release keeps working."""

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import write_files
from ragtune.cli.app import app
from ragtune.project import Project

runner = CliRunner()
LEGACY = Path(__file__).parent.parent / "fixtures" / "legacy_c940444" / "ws"
LEGACY_ROOT = "/tmp/legacy/ws"  # where make.sh ran


def ingest(*args, code: int = 0) -> dict:
    result = runner.invoke(app, ["ingest", *[str(a) for a in args], "--json"])
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return json.loads(result.stdout)


def init(proj: Path) -> Path:
    result = runner.invoke(app, ["project", "init", "-p", str(proj), "--embedder", "hashing", "--generator", "scripted"])
    assert result.exit_code == 0, result.stdout
    return proj


def docs_of(proj: Path) -> dict[str, str]:
    """doc id -> the text of its first chunk."""
    p = Project(proj)
    return {c.doc_id: c.text for batch in p.store.iter_chunks() for c in batch if c.index == 0}


def test_same_named_folders_do_not_overwrite_each_other(tmp_path):
    coll = write_files(tmp_path / "coll", {"teamA/docs/README.md": "# A\n\nTeam A stores apples.",
                                           "teamB/docs/README.md": "# B\n\nTeam B stores bananas."})
    proj = init(tmp_path / "proj")
    assert ingest(coll / "teamA" / "docs", "-p", proj)["added"] == 1
    r = ingest(coll / "teamB" / "docs", "-p", proj)
    assert (r["added"], r["updated"]) == (1, 0)
    assert docs_of(proj) == {"docs/README.md": "# A Team A stores apples.",
                             "teamB/docs/README.md": "# B Team B stores bananas."}
    # and each keeps its id on the next runs, in either order
    assert ingest(coll / "teamB" / "docs", "-p", proj)["unchanged"] == 1
    assert ingest(coll / "teamA" / "docs", "-p", proj)["unchanged"] == 1
    assert len(docs_of(proj)) == 2


def test_one_file_by_any_path_is_one_document(tmp_path, monkeypatch):
    docs = write_files(tmp_path / "docs", {"webhooks.md": "# Webhooks\n\nRetried nine times.",
                                           "a.txt": "Alpha about apricots.", "sub/b.txt": "Bravo about bananas."})
    os.symlink(docs / "webhooks.md", tmp_path / "link.md")
    os.symlink(docs / "sub", tmp_path / "linked-sub")
    proj = init(tmp_path / "proj")
    assert ingest(docs, "-p", proj)["added"] == 3
    monkeypatch.chdir(tmp_path)
    for path in ["docs/webhooks.md", docs / "webhooks.md", "link.md", "./docs/../docs/webhooks.md"]:
        r = ingest(path, "-p", proj)
        assert (r["added"], r["unchanged"]) == (0, 1), path
    assert ingest("linked-sub", "-p", proj)["unchanged"] == 1
    # a file named twice in one run, and a folder holding a symlink to its own file, are taken once
    assert ingest(docs, docs / "a.txt", "-p", proj)["unchanged"] == 3
    assert sorted(docs_of(proj)) == ["docs/a.txt", "docs/sub/b.txt", "docs/webhooks.md"]


def test_moved_folder_and_renamed_file_are_re_recorded_not_duplicated(tmp_path):
    old = write_files(tmp_path / "old" / "docs", {"guide.md": "# Guide\n\nThe guide text.", "x.md": "# X\n\nXray."})
    proj = init(tmp_path / "proj")
    ingest(old, "-p", proj)
    new = tmp_path / "new" / "docs"
    new.parent.mkdir()
    shutil.move(str(old), str(new))
    r = ingest(new, "-p", proj)
    assert (r["added"], r["updated"], r["removed"]) == (0, 2, 0)
    (new / "guide.md").rename(new / "handbook.md")  # same content, same title, new name
    r = ingest(new, "-p", proj)
    assert (r["added"], r["updated"], r["unchanged"], r["removed"]) == (0, 1, 1, 0)
    assert sorted(docs_of(proj)) == ["docs/handbook.md", "docs/x.md"]
    states = Project(proj).store.documents()
    assert states["docs/handbook.md"].source == str((new / "handbook.md").resolve())


def test_symlinked_folder_is_followed_without_looping(tmp_path):
    docs = write_files(tmp_path / "docs", {"a.txt": "Alpha."})
    shared = write_files(tmp_path / "shared", {"s.txt": "Shared sierra."})
    os.symlink(shared, docs / "shared")
    os.symlink(docs, docs / "loop")  # a link to an ancestor
    proj = init(tmp_path / "proj")
    assert ingest(docs, "-p", proj)["added"] == 2
    assert sorted(docs_of(proj)) == ["docs/a.txt", "docs/shared/s.txt"]


@pytest.fixture
def legacy(tmp_path) -> Path:
    """The fixture project built by the previous release, its sources moved to where it is copied."""
    ws = shutil.copytree(LEGACY, tmp_path / "ws")
    col = Project(ws / "proj").store.col
    r = col.get(include=["metadatas"])
    col.update(ids=r["ids"], metadatas=[{**m, "source": m["source"].replace(LEGACY_ROOT, str(ws))}
                                        for m in r["metadatas"]])
    return ws


def test_project_built_by_the_previous_release_keeps_working(legacy, monkeypatch):
    ws = legacy
    before = docs_of(ws / "proj")
    # the bugs the fixture was built with: team A's README was replaced, webhooks is stored twice
    assert before["docs/README.md"] == "# Team B Team B keeps its bananas in the south shed."
    assert {"webhooks.md", "docs/webhooks.md"} <= set(before)
    monkeypatch.chdir(ws)
    r = ingest("coll/teamA/docs", "-p", "proj")
    assert (r["added"], r["unchanged"], r["updated"], r["chunks"]) == (1, 1, 0, 1)  # only the lost README
    r = ingest("coll/teamB/docs", "-p", "proj")
    assert (r["added"], r["unchanged"], r["updated"], r["chunks"]) == (0, 1, 0, 0)
    r = ingest("docs/", "-p", "proj")
    assert (r["added"], r["unchanged"], r["updated"], r["removed"], r["chunks"]) == (0, 3, 0, 1, 0)
    r = ingest("docs/webhooks.md", "-p", "proj")
    assert (r["added"], r["unchanged"], r["chunks"]) == (0, 1, 0)
    after = docs_of(ws / "proj")
    assert after == {
        "docs/README.md": "# Team B Team B keeps its bananas in the south shed.",  # old ids are kept as they are
        "teamA/docs/README.md": "# Team A Team A keeps its apples in the north barn.",
        "docs/guide.txt": "Team A guide: the orchard opens at dawn.",
        "docs/webhooks.md": "# Webhooks A failed webhook is retried nine times.",
        "docs/a.txt": "Alpha notes about apricots.",
        "docs/page.html": "A page about pears."}
    p = Project(ws / "proj")
    assert all(s.complete for s in p.store.documents().values())
    assert p.retriever.search("webhook retried", k=5, mode="bm25")[0].chunk.doc_id == "docs/webhooks.md"
    assert [h.chunk.doc_id for h in p.retriever.search("webhook retried", k=5, mode="bm25")].count("webhooks.md") == 0
