"""Switching the project's embedder re-embeds the index beside the current one (rag/reembed.py): kill -9
at several points, and after each the project answers with one embedder and the vectors it made; a
re-run finishes the switch. The "old" and "new" embedders are the hashing fake at two dimensions."""

import os
import signal
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import make_project, run_child, run_main, write_files
from conftest import store_snapshot as snapshot
from ragtune.config import ComponentSpec
from ragtune.embedding import EMBEDDERS
from ragtune.errors import RagtuneError
from ragtune.project import Project
from ragtune.rag import reembed
from ragtune.rag.ingest import ingest
from ragtune.stores.chroma import ChromaStore

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
OLD, NEW = ComponentSpec(type="hashing", params={"dimension": 64}), ComponentSpec(type="hashing", params={"dimension": 96})
CHUNKER = ComponentSpec(type="token", params={"max_tokens": 32, "overlap": 4, "tokenizer": "whitespace"})
N_FILES = 60

# the child pauses where it is told to (after its n-th report of a stage), so the kill lands exactly there
DRIVER = textwrap.dedent("""
    import sys, time
    from ragtune.config import ComponentSpec
    from ragtune.project import Project
    from ragtune.rag import reembed

    stage_at, n_at = sys.argv[2], int(sys.argv[3])
    seen = {}

    def progress(stage, n):
        seen[stage] = seen.get(stage, 0) + 1
        print(stage, n, flush=True)
        if stage == stage_at and seen[stage] == n_at:
            time.sleep(60)

    p = Project(sys.argv[1])
    reembed.start(p, ComponentSpec(type="hashing", params={"dimension": 96}), "the new hashing")
    progress("started", 0)
    reembed.run(p, batch_size=40, progress=progress)
    print("done", flush=True)
""")


def corpus() -> dict[str, str]:
    return {f"doc{i:02d}.txt": f"Document {i} is about widget{i}. " + " ".join(f"Fact {j} on gadget{i}x{j}."
                                                                             for j in range(1 + i % 9 * 6))
            for i in range(N_FILES)}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reembed")
    docs = write_files(tmp / "docs", corpus())
    p = make_project(tmp / "template", embedder=OLD, chunker=CHUNKER)
    ingest(p, [docs])
    return tmp, docs, snapshot(p)


def fresh(indexed, name: str) -> Project:
    import shutil

    tmp, _, _ = indexed
    shutil.copytree(tmp / "template", tmp / name)
    return Project(tmp / name)


def assert_consistent(root: Path, expected: dict, spec: ComponentSpec) -> None:
    """A fresh process's view: the configured embedder is ``spec``, the configured store holds every chunk
    with that embedder's vector of its text, and a dense search for a chunk's text finds it first."""
    p = Project(root)
    assert p.config.embedder == spec
    got = snapshot(p)
    assert sorted(got) == sorted(expected)
    embedder = EMBEDDERS.from_dict(spec.model_dump())
    for cid, (text, meta, vector) in got.items():
        assert (text, meta) == expected[cid][:2]
        indexed_text = f"{meta['title']}\n{text}" if meta.get("title") else text
        assert np.allclose(vector, embedder.embed([indexed_text])[0], atol=1e-4), cid
    cid = sorted(expected)[7]
    assert p.retriever.search(expected[cid][0], k=1, mode="dense")[0].chunk.chunk_id == cid


def test_a_switch_re_embeds_every_chunk_and_removes_the_old_generation(indexed):
    _, _, expected = indexed
    p = fresh(indexed, "plain")
    reembed.start(p, NEW, "new")
    report = reembed.run(p, batch_size=40)
    assert report.chunks == report.embedded == len(expected)
    assert_consistent(p.root, expected, NEW)
    assert not (p.root / "store").exists() and not p.reembed_path.exists()
    assert Project(p.root).index_spec()["embedder"]["params"]["dimension"] == 96
    assert Project(p.root).bm25.is_current()


# (stage, n-th report): before any batch; mid-way (two pages of 40 written); copied and verified but not
# switched; switched but the old generation not yet removed
KILL_POINTS = [("started", 1), ("copy", 2), ("verified", 1), ("switched", 1)]


@pytest.mark.parametrize("kill_at", KILL_POINTS, ids=lambda k: f"{k[0]}{k[1]}")
def test_sigkill_during_a_switch(indexed, kill_at, monkeypatch, capsys):
    tmp, docs, expected = indexed
    p = fresh(indexed, f"killed-{kill_at[0]}")
    script = tmp / "driver.py"
    script.write_text(DRIVER)
    code, _, err = run_child([str(script), str(p.root), *map(str, kill_at)],
                                 lambda seen: [s.split()[0] for s in seen].count(kill_at[0]) >= kill_at[1],
                                 lambda proc: os.kill(proc.pid, signal.SIGKILL))
    assert code == -signal.SIGKILL, err
    switched = kill_at[0] == "switched"
    # the project answers consistently: the old pair until the switch, the new pair after it
    assert_consistent(p.root, expected, NEW if switched else OLD)
    assert p.reembed_path.exists()
    # nothing may change the index meanwhile
    code, _, err = run_main(monkeypatch, capsys, "ingest", docs, "--project", p.root)
    assert code == 2 and "being re-embedded" in err
    # switching to a third embedder is refused until this one is done
    with pytest.raises(RagtuneError, match="being re-embedded for the new hashing"):
        reembed.start(Project(p.root), ComponentSpec(type="hashing", params={"dimension": 32}), "third")
    # a re-run finishes where the kill stopped it
    report = reembed.run(Project(p.root), batch_size=40)
    if kill_at[0] == "copy":
        assert 0 < report.embedded < report.chunks  # the pages already written were kept
    assert report.chunks == len(expected)
    assert_consistent(p.root, expected, NEW)
    assert not (p.root / "store").exists() and not p.reembed_path.exists()
    assert ingest(Project(p.root), [docs]).unchanged == N_FILES  # and ingest works again, with the new embedder


def test_a_half_copied_document_is_written_again_whole(indexed):
    _, _, expected = indexed
    p = fresh(indexed, "half")
    entry = reembed.start(p, NEW, "new")
    # a kill between two pages of a long document leaves some of its chunks in the new generation
    target = EMBEDDERS.from_dict(NEW.model_dump())
    page = next(p.store.export(10_000))
    long_doc = max(page.doc_chunks, key=page.doc_chunks.__getitem__)
    part = [c for c in page.chunks if c.doc_id == long_doc][:2]
    store = ChromaStore(**entry.store.params).bind(p.root)
    store.upsert(part, target.embed([c.indexed_text for c in part]), page.doc_hashes, page.doc_chunks)
    assert not store.documents()[long_doc].complete
    reembed.run(p)
    assert_consistent(p.root, expected, NEW)


def test_the_same_embedder_or_a_store_on_a_server_is_refused(indexed):
    p = fresh(indexed, "refused")
    with pytest.raises(RagtuneError, match="already the embedder"):
        reembed.start(p, ComponentSpec(type="hashing", params={"dimension": 64}), "same")
    p.config.store = ComponentSpec(type="chroma", params={"url": "http://localhost:8000"})
    with pytest.raises(RagtuneError, match="needs the embedded chroma store"):
        reembed.start(p, NEW, "new")
    with pytest.raises(RagtuneError, match="no re-embed is pending"):
        reembed.run(Project(p.root))


def test_a_detached_switch_runs_in_a_process_of_its_own(indexed, monkeypatch):
    """What ``tune use --detach`` starts is ``tune reembed``, which finishes the journalled switch."""
    from ragtune.app.retriever import reembed_command

    _, _, expected = indexed
    p = fresh(indexed, "detached")
    reembed.start(p, NEW, "new")
    done = subprocess.run(reembed_command(p.root), capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "the embedder is now new" in " ".join(done.stdout.split())
    assert_consistent(p.root, expected, NEW)
