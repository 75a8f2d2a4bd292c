"""One suite every store backend passes: ingest, filters, upserts, deletes, crash recovery, and the
same top-k as a brute-force cosine ranking (and so as the embedded default) on the same data."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from ragtune.documents.types import Chunk
from ragtune.embedding.fake import HashingEmbedder
from ragtune.project import Project
from ragtune.rag.ingest import ingest
from ragtune.stores.filters import parse_filters

from conftest import CORPUS, make_project, write_files
from store_backends import backend, chroma_server, postgres  # noqa: F401  (fixtures)

# CORPUS's front matter, written out by hand: the oracle for the filter tests
META = {"billing": ("billing", 2023, "2023-05-01"), "refunds": ("billing", 2024, "2024-02-10"),
        "sso": ("security", 2024, "2024-07-01"), "webhooks": ("api", 2022, "2022-11-30"),
        "ratelimits": ("api", 2025, "2025-01-15"), "export": ("admin", 2021, "2021-03-03")}


def chunks_of(doc_id: str, texts: list[str], **meta) -> list[Chunk]:
    return [Chunk(chunk_id=f"{doc_id}#{i}", doc_id=doc_id, index=i, text=t, title=doc_id.upper(), metadata=dict(meta))
            for i, t in enumerate(texts)]


def write(store, chunks: list[Chunk], version: str = "v1", doc_chunks=None) -> np.ndarray:
    vectors = HashingEmbedder().embed([c.indexed_text for c in chunks])
    store.upsert(chunks, vectors, {c.doc_id: f"{c.doc_id}-{version}" for c in chunks}, doc_chunks=doc_chunks)
    return vectors


@pytest.fixture
def kb(tmp_path, backend):
    p = make_project(tmp_path / "proj", store=backend)
    docs = write_files(tmp_path / "docs", CORPUS)
    report = ingest(p, [docs / "kb"])
    assert report.added == len(CORPUS) and not report.problems
    return p, docs


def test_empty_store_answers_with_nothing(tmp_path, backend):
    store = make_project(tmp_path / "proj", store=backend).store
    assert store.count() == 0 and store.documents() == {} and store.get(["x#0"]) == []
    assert store.query(HashingEmbedder().embed(["x"])[0], 3) == []
    assert store.ids_matching(parse_filters(["a=1"])) == set()
    assert list(store.iter_chunks()) == [] and list(store.export()) == []


def test_ingest_stores_every_chunk_with_its_metadata(kb):
    p, docs = kb
    store = p.store
    assert store.count() == len(CORPUS)
    states = store.documents()
    assert sorted(states) == sorted(f"kb/{n}.md" for n in META) and all(s.complete for s in states.values())
    assert states["kb/sso.md"].source == str((docs / "kb" / "sso.md").resolve())
    (c,) = store.get(["kb/webhooks.md#0"])
    assert (c.chunk_id, c.doc_id, c.index, c.title) == ("kb/webhooks.md#0", "kb/webhooks.md", 0, "Webhooks")
    assert c.text == "Webhooks retry failed deliveries eight times with exponential backoff."
    assert c.metadata == {"category": "api", "year": 2022, "updated": "2022-11-30",
                          "source": str((docs / "kb" / "webhooks.md").resolve())}
    assert type(c.metadata["year"]) is int
    assert store.get(["kb/nope.md#0", "kb/sso.md#0"])[0].doc_id == "kb/sso.md"  # missing ids are skipped
    assert sorted(c.chunk_id for batch in store.iter_chunks(batch_size=4) for c in batch) == \
        sorted(f"kb/{n}.md#0" for n in META)


@pytest.mark.parametrize("expr, allowed", [
    ("category=billing", lambda c, y, u: c == "billing"),
    ("category!=billing", lambda c, y, u: c != "billing"),
    ("year>=2024", lambda c, y, u: y >= 2024),
    ("year<2023", lambda c, y, u: y < 2023),
    ("year=2024.0", lambda c, y, u: y == 2024),  # a float operand equals an integer field
    ("updated>2024-01-01", lambda c, y, u: u > "2024-01-01"),
    ("updated<=2022-11-30", lambda c, y, u: u <= "2022-11-30"),
    ("updated=2024-07-01", lambda c, y, u: u == "2024-07-01"),
    ("category in api,admin", lambda c, y, u: c in ("api", "admin")),
    ("year in 2022,2025", lambda c, y, u: y in (2022, 2025)),
    ("draft!=true", lambda c, y, u: True),  # no document has the key: != keeps them all
    ("draft=true", lambda c, y, u: False),
    ("category>=3", lambda c, y, u: False),  # a range never matches a text value
])
def test_filters_match_the_front_matter(kb, expr, allowed):
    p, _ = kb
    got = sorted(i.split("/")[1].removesuffix(".md#0") for i in p.store.ids_matching(parse_filters([expr])))
    assert got == sorted(n for n, m in META.items() if allowed(*m))


def test_filters_combine(kb):
    p, _ = kb
    ids = p.store.ids_matching(parse_filters(["year>=2023", "category!=security", "updated<2025-01-01"]))
    assert ids == {"kb/billing.md#0", "kb/refunds.md#0"}


def test_dotted_and_dashed_keys_and_text_numbers(tmp_path, backend):
    store = make_project(tmp_path / "proj", store=backend).store
    write(store, chunks_of("a", ["alpha"], **{"source.kind": "pdf", "my-key": "x y", "version": "4.0"}))
    write(store, chunks_of("b", ["beta"], **{"source.kind": "html", "version": 4.0}))
    assert store.ids_matching(parse_filters(["source.kind=pdf"])) == {"a#0"}
    assert store.ids_matching(parse_filters(["my-key=x y"])) == {"a#0"}
    # "4.0" typed by a user matches the text "4.0" and the number 4.0 alike
    assert store.ids_matching(parse_filters(["version=4.0"])) == {"a#0", "b#0"}


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_search_finds_the_known_answers(kb, mode):
    p, _ = kb
    for query, doc in [("refunds to the original card", "kb/refunds.md"),
                       ("webhooks retry failed deliveries", "kb/webhooks.md"),
                       ("export workspace data as a zip archive", "kb/export.md")]:
        assert p.retriever.search(query, k=3, mode=mode)[0].chunk.doc_id == doc


# --- the same top-k as exact cosine ranking -----------------------------------------------------

WORDS = "apple banana cherry grape lemon mango olive peach pear plum".split()


def corpus_rows(n: int = 120) -> list[Chunk]:
    rng = np.random.default_rng(7)
    return [Chunk(chunk_id=f"d{i:03d}#0", doc_id=f"d{i:03d}", index=0,
                  text=" ".join(rng.choice(WORDS, size=6)), metadata={"shelf": "AB"[i % 2], "rank": i})
            for i in range(n)]


def test_top_k_equals_exact_cosine_ranking(tmp_path, backend):
    store = make_project(tmp_path / "proj", store=backend).store
    rows = corpus_rows()
    vectors = write(store, rows)
    emb = HashingEmbedder()
    queries = emb.embed([" ".join(WORDS[i:i + 3]) for i in range(8)])
    for where, mask in [((), np.ones(len(rows), bool)),
                        (tuple(parse_filters(["shelf=B", "rank>=40"])),
                         np.array([r.metadata["shelf"] == "B" and r.metadata["rank"] >= 40 for r in rows]))]:
        for q in queries:
            sims = vectors @ q
            allowed = np.flatnonzero(mask)
            got = store.query(q, 10, where)
            assert len(got) == 10
            # ties are common on a ten-word vocabulary: compare the scores, then ids above the tenth score
            want = np.sort(sims[allowed])[::-1][:10]
            np.testing.assert_allclose([s for _, s in got], want, atol=1e-4)
            cutoff = want[-1] + 1e-4
            assert {i for i, s in got if s > cutoff} == {rows[j].chunk_id for j in allowed if sims[j] > cutoff}
            assert all(mask[int(i[1:4])] for i, _ in got)


# --- upserts and deletes -----------------------------------------------------------------------

def test_upsert_replaces_and_delete_removes(tmp_path, backend):
    store = make_project(tmp_path / "proj", store=backend).store
    write(store, chunks_of("a", ["old one", "old two"], tag="x"))
    write(store, chunks_of("b", ["bravo"], tag="y"))
    write(store, chunks_of("a", ["new one", "new two"], tag="z"), version="v2")  # same ids
    assert store.count() == 3
    assert [c.text for c in store.get(["a#0", "a#1"])] == ["new one", "new two"]
    assert store.ids_matching(parse_filters(["tag=x"])) == set()
    assert store.ids_matching(parse_filters(["tag=z"])) == {"a#0", "a#1"}
    assert store.documents()["a"].content_hash == "a-v2" and store.documents()["a"].complete
    q = HashingEmbedder().embed(["A\nnew one"])[0]
    assert store.query(q, 1)[0][0] == "a#0"
    assert store.query(q, 1)[0][1] == pytest.approx(1.0, abs=1e-4)
    store.delete(["a", "never-stored"])
    assert store.count() == 1 and sorted(store.documents()) == ["b"]
    assert store.get(["a#0"]) == [] and [i for i, _ in store.query(q, 5)] == ["b#0"]
    store.delete(["b"])
    assert store.count() == 0 and store.query(q, 5) == []


# --- crash recovery ------------------------------------------------------------------------------

def test_half_written_and_mixed_version_documents_are_incomplete(tmp_path, backend):
    store = make_project(tmp_path / "proj", store=backend).store
    long = chunks_of("long", ["one", "two", "three", "four"])
    write(store, long[:2], doc_chunks={"long": 4})  # the writer died after its first batch
    write(store, chunks_of("whole", ["w"]))
    states = store.documents()
    assert not states["long"].complete and states["whole"].complete
    write(store, long)
    assert store.documents()["long"].complete
    write(store, chunks_of("long", ["ONE"]), version="v2", doc_chunks={"long": 1})  # an update cut short
    assert not store.documents()["long"].complete


DRIVER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from ragtune.project import Project
    from ragtune.rag.ingest import ingest

    def progress(stage, n, total=None):
        print(stage, n, flush=True)

    ingest(Project(sys.argv[1]), [Path(sys.argv[2])], batch_docs=8, progress=progress)
    print("done", flush=True)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_ingest_then_rerun_equals_a_clean_ingest(tmp_path, backend):
    files = {f"f{i:02d}.txt": f"Widget{i} notes. " + " ".join(f"Sentence {j} about widget{i}." for j in range(40 * (i % 3)))
             for i in range(40)}
    docs = write_files(tmp_path / "docs", files)
    proj = tmp_path / "proj"
    make_project(proj, store=backend)
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    proc = subprocess.Popen([sys.executable, str(script), str(proj), str(docs)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    embeds = 0
    for line in proc.stdout:
        embeds += line.startswith("chunks")
        if embeds == 2:  # once the second batch of documents is written
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    p = Project(proj)
    assert 0 < len(p.store.documents()) < len(files)
    report = ingest(p, [docs])
    assert report.added + report.updated + report.unchanged == len(files) and report.added > 0
    clean = make_project(tmp_path / "clean")
    ingest(clean, [docs])
    got = {c.chunk_id: (c.text, c.metadata) for b in p.store.iter_chunks() for c in b}
    want = {c.chunk_id: (c.text, c.metadata) for b in clean.store.iter_chunks() for c in b}
    assert got == want and p.store.count() == len(want)
    assert all(s.complete for s in p.store.documents().values())
    assert sorted(json.loads((p.bm25.folder / "ids.json").read_text())) == sorted(want)
