"""Kill -9 an ingest at several points, re-run it, and compare with a clean ingest: the store must
hold exactly the same chunks (no duplicates, nothing lost) and BM25 must answer."""

import json
import os
import shutil
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from conftest import make_project, run_child, write_files
from conftest import store_snapshot as snapshot
from ragtune.config import ComponentSpec
from ragtune.project import Project
from ragtune.rag.ingest import ingest

N_FILES = 400
# fast whitespace token windows: the chunker is not what is under test here
CHUNKER = ComponentSpec(type="token", params={"max_tokens": 64, "overlap": 8, "tokenizer": "whitespace"})
pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

DRIVER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from ragtune.project import Project
    from ragtune.rag.ingest import ingest

    def progress(stage, n, total=None):
        print(stage, n, flush=True)

    ingest(Project(sys.argv[1]), [Path(sys.argv[2])], prune=True, progress=progress)
    print("done", flush=True)
""")


def corpus(version: int) -> dict[str, str]:
    files = {}
    for i in range(N_FILES):
        body = f"File {i} describes widget{i} in detail. It was revised in version {version if i % 3 == 0 else 1}."
        if i % 25 == 0:  # some documents span several chunks
            body += " " + " ".join(f"Extra sentence {j} about widget{i} and gadget{j}." for j in range(80))
        files[f"sub{i % 7}/file{i:03d}.txt"] = body
    return files


def run_driver(tmp: Path, proj: Path, docs: Path, kill_at: tuple[str, int, float] | None
               ) -> tuple[int, list[str]]:
    """Run an ingest in a child process; SIGKILL it ``delay`` seconds after its n-th ``stage`` report."""
    script = tmp / "driver.py"
    script.write_text(DRIVER)

    def reached(lines: list[str]) -> bool:
        return bool(kill_at) and [line.split()[0] for line in lines].count(kill_at[0]) >= kill_at[1]

    def kill(proc: subprocess.Popen) -> None:
        time.sleep(kill_at[2])
        os.kill(proc.pid, signal.SIGKILL)

    code, lines, err = run_child([str(script), str(proj), str(docs)], reached, kill)
    assert code in (0, -signal.SIGKILL), err
    return code, lines


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crash")
    v1 = write_files(tmp / "v1", corpus(1))
    clean = make_project(tmp / "clean", chunker=CHUNKER)
    report = ingest(clean, [v1])
    assert report.added == N_FILES and not report.problems
    return tmp, v1, snapshot(clean)


def assert_same_as_clean(p: Project, expected: dict) -> None:
    got = snapshot(p)
    assert sorted(got) == sorted(expected)
    for cid in expected:
        assert got[cid] == expected[cid], cid
    states = p.store.documents()
    assert len(states) == N_FILES and all(s.complete for s in states.values())
    # BM25 is current, covers exactly the store's chunks, and answers
    assert p.bm25.is_current()
    bm25_ids = json.loads((p.bm25.folder / "ids.json").read_text())
    assert sorted(bm25_ids) == sorted(expected)
    hits = p.retriever.search("widget123", k=3, mode="bm25")
    assert hits[0].chunk.doc_id == "v1/sub4/file123.txt"
    assert p.retriever.search("gadget7 widget50", k=1, mode="bm25")[0].chunk.doc_id.endswith("file050.txt")


# (stage, n-th report, delay): before the first write; once the first batch is written; a few
# milliseconds into the fifth batch; while BM25 is rebuilt after every store write
KILL_POINTS = [("files", 30, 0.0), ("chunks", 1, 0.0), ("chunks", 4, 0.015), ("bm25", 1, 0.0)]


@pytest.mark.parametrize("kill_at", KILL_POINTS, ids=lambda k: f"{k[0]}{k[1]}")
def test_sigkill_during_first_ingest(setup, kill_at):
    tmp, v1, expected = setup
    proj = tmp / f"killed-{kill_at[0]}{kill_at[1]}"
    make_project(proj, chunker=CHUNKER)
    code, lines = run_driver(tmp, proj, v1, kill_at)
    if kill_at[0] != "bm25":  # these land well before the end
        assert code == -signal.SIGKILL and "done" not in lines

    p = Project(proj)
    before = p.store.count() if (proj / "store").exists() else 0
    if kill_at[0] == "files":
        assert before == 0
    elif kill_at[0] == "bm25":
        assert before == len(expected)
    report = ingest(p, [v1], prune=True)
    assert not report.problems and report.removed == 0
    if code == -signal.SIGKILL and kill_at[0] != "bm25":
        assert report.added + report.updated > 0  # the re-run finished what the killed one left
    assert report.added + report.updated + report.unchanged == N_FILES
    assert_same_as_clean(p, expected)
    # and one more run finds nothing to do
    again = ingest(p, [v1], prune=True)
    assert (again.unchanged, again.added, again.updated, again.removed) == (N_FILES, 0, 0, 0)


def test_sigkill_during_an_update(setup):
    """The update path deletes a document's old chunks before writing its new ones."""
    tmp, v1, _ = setup
    docs = tmp / "v1u"
    shutil.copytree(v1, docs)
    proj = tmp / "killed-update"
    make_project(proj, chunker=CHUNKER)
    code, _ = run_driver(tmp, proj, docs, None)
    assert code == 0
    # every third file changes (134 documents: three flushes), and two disappear
    write_files(docs, corpus(2))
    gone = [docs / "sub0" / "file007.txt", docs / "sub1" / "file008.txt"]
    for g in gone:
        g.unlink()
    code, lines = run_driver(tmp, proj, docs, ("chunks", 1, 0.005))  # as the second changed batch is written
    assert code == -signal.SIGKILL and "done" not in lines  # killed mid-update, not after it finished

    p = Project(proj)
    ingest(p, [docs], prune=True)
    clean = make_project(tmp / "clean-update", chunker=CHUNKER)
    ingest(clean, [docs])
    got, want = snapshot(p), snapshot(clean)
    assert sorted(got) == sorted(want)
    assert all(got[c] == want[c] for c in want)
    assert "v1u/sub0/file007.txt" not in p.store.documents()
    assert p.bm25.is_current()
    assert p.retriever.search("version 2 widget300", k=1, mode="bm25")[0].chunk.doc_id == "v1u/sub6/file300.txt"
