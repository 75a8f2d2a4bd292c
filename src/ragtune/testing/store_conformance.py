"""One suite every store backend passes: ingest, filters, upserts, deletes, crash recovery, and the
same top-k as a brute-force cosine ranking (and so as the embedded default) on the same data.

A store that ranks keywords in its engine (``ragtune.stores.keywords``) also passes the keyword tests;
for other stores they are skipped, as ragtune's BM25 ranks keywords beside them.

A backend's test class subclasses ``VectorStoreConformance`` and supplies the ``store_spec`` fixture: the
spec of a new, empty store (folders relative to the project folder). The crash test ingests in a child
process, which builds the store by name: a plugin store must be registered through its entry point
there (or that test deselected with ``-k "not sigkill"``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ragtune.config import ComponentSpec, ProjectConfig
from ragtune.documents.types import Chunk
from ragtune.embedding.fake import HashingEmbedder
from ragtune.project import Project
from ragtune.rag.ingest import ingest
from ragtune.stores.filters import parse_filters
from ragtune.stores.keywords import KeywordSearch, keyword_search
from ragtune.stores.protocol import VectorStore

# Six short documents with front matter, and that front matter written out by hand: the oracle for
# the filter tests.
CORPUS = {
    "kb/billing.md": "---\ntitle: Billing\ncategory: billing\nyear: 2023\nupdated: 2023-05-01\n---\n"
                     "Invoices are emailed on the first day of each month. Refunds take five business days.",
    "kb/refunds.md": "---\ntitle: Refund policy\ncategory: billing\nyear: 2024\nupdated: 2024-02-10\n---\n"
                     "Refunds are issued to the original card within five business days of approval.",
    "kb/sso.md": "---\ntitle: Single sign-on\ncategory: security\nyear: 2024\nupdated: 2024-07-01\n---\n"
                 "SAML single sign-on is configured by an administrator under security settings.",
    "kb/webhooks.md": "---\ntitle: Webhooks\ncategory: api\nyear: 2022\nupdated: 2022-11-30\n---\n"
                      "Webhooks retry failed deliveries eight times with exponential backoff.",
    "kb/ratelimits.md": "---\ntitle: Rate limits\ncategory: api\nyear: 2025\nupdated: 2025-01-15\n---\n"
                        "The API allows six hundred requests per minute per workspace token.",
    "kb/export.md": "---\ntitle: Exporting data\ncategory: admin\nyear: 2021\nupdated: 2021-03-03\n---\n"
                    "Administrators export workspace data as a zip archive from the admin console.",
}
META = {"billing": ("billing", 2023, "2023-05-01"), "refunds": ("billing", 2024, "2024-02-10"),
        "sso": ("security", 2024, "2024-07-01"), "webhooks": ("api", 2022, "2022-11-30"),
        "ratelimits": ("api", 2025, "2025-01-15"), "export": ("admin", 2021, "2021-03-03")}

WORDS = ["apple", "banana", "cherry", "grape", "lemon", "mango", "olive", "peach", "pear", "plum"]

FILTER_CASES: list[tuple[str, Callable[[str, int, str], bool]]] = [
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
]

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


def new_project(root: Path, store: ComponentSpec) -> Project:
    """A saved project on the fakes (hashing embedder, scripted generator) with the given store."""
    p = Project(root, ProjectConfig(embedder=ComponentSpec(type="hashing"), generator=ComponentSpec(type="scripted"),
                                    store=store))
    p.save()
    return p


def write_files(folder: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return folder


def chunks_of(doc_id: str, texts: list[str], **meta: Any) -> list[Chunk]:
    return [Chunk(chunk_id=f"{doc_id}#{i}", doc_id=doc_id, index=i, text=t, title=doc_id.upper(), metadata=dict(meta))
            for i, t in enumerate(texts)]


def write(store: VectorStore, chunks: list[Chunk], version: str = "v1",
          doc_chunks: dict[str, int] | None = None) -> np.ndarray:
    vectors = HashingEmbedder().embed([c.indexed_text for c in chunks])
    store.upsert(chunks, vectors, {c.doc_id: f"{c.doc_id}-{version}" for c in chunks}, doc_chunks=doc_chunks)
    return vectors


def corpus_rows(n: int = 120) -> list[Chunk]:
    rng = np.random.default_rng(7)
    return [Chunk(chunk_id=f"d{i:03d}#0", doc_id=f"d{i:03d}", index=0,
                  text=" ".join(rng.choice(WORDS, size=6)), metadata={"shelf": "AB"[i % 2], "rank": i})
            for i in range(n)]


class VectorStoreConformance:
    """The store contract as tests. Subclass it (named ``Test...``) and override ``store_spec``."""

    @pytest.fixture
    def store_spec(self) -> ComponentSpec:
        """The spec of a new, empty store of the backend under test."""
        raise NotImplementedError(f"{type(self).__name__} must override the store_spec fixture")

    @pytest.fixture
    def store(self, tmp_path: Path, store_spec: ComponentSpec) -> VectorStore:
        return new_project(tmp_path / "proj", store_spec).store

    @pytest.fixture
    def kb(self, tmp_path: Path, store_spec: ComponentSpec) -> tuple[Project, Path]:
        p = new_project(tmp_path / "proj", store_spec)
        docs = write_files(tmp_path / "docs", CORPUS)
        report = ingest(p, [docs / "kb"])
        assert report.added == len(CORPUS) and not report.problems
        return p, docs

    def test_empty_store_answers_with_nothing(self, store):
        store.warm_up()
        assert store.count() == 0 and store.documents() == {} and store.get(["x#0"]) == []
        assert store.query(HashingEmbedder().embed(["x"])[0], 3) == []
        assert store.ids_matching(parse_filters(["a=1"])) == set()
        assert list(store.iter_chunks()) == [] and list(store.export()) == []

    def test_ingest_stores_every_chunk_with_its_metadata(self, kb):
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

    @pytest.mark.parametrize("expr, allowed", FILTER_CASES, ids=[e for e, _ in FILTER_CASES])
    def test_filters_match_the_front_matter(self, kb, expr, allowed):
        p, _ = kb
        got = sorted(i.split("/")[1].removesuffix(".md#0") for i in p.store.ids_matching(parse_filters([expr])))
        assert got == sorted(n for n, m in META.items() if allowed(*m))

    def test_filters_combine(self, kb):
        p, _ = kb
        ids = p.store.ids_matching(parse_filters(["year>=2023", "category!=security", "updated<2025-01-01"]))
        assert ids == {"kb/billing.md#0", "kb/refunds.md#0"}

    def test_dotted_and_dashed_keys_and_text_numbers(self, store):
        write(store, chunks_of("a", ["alpha"], **{"source.kind": "pdf", "my-key": "x y", "version": "4.0"}))
        write(store, chunks_of("b", ["beta"], **{"source.kind": "html", "version": 4.0}))
        assert store.ids_matching(parse_filters(["source.kind=pdf"])) == {"a#0"}
        assert store.ids_matching(parse_filters(["my-key=x y"])) == {"a#0"}
        # "4.0" typed by a user matches the text "4.0" and the number 4.0 alike
        assert store.ids_matching(parse_filters(["version=4.0"])) == {"a#0", "b#0"}

    @pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
    def test_search_finds_the_known_answers(self, kb, mode):
        p, _ = kb
        for query, doc in [("refunds to the original card", "kb/refunds.md"),
                           ("webhooks retry failed deliveries", "kb/webhooks.md"),
                           ("export workspace data as a zip archive", "kb/export.md")]:
            assert p.retriever.search(query, k=3, mode=mode)[0].chunk.doc_id == doc

    def test_top_k_equals_exact_cosine_ranking(self, store):
        rows = corpus_rows()
        vectors = write(store, rows)
        queries = HashingEmbedder().embed([" ".join(WORDS[i:i + 3]) for i in range(8)])
        for where, mask in [((), np.ones(len(rows), bool)),
                            (tuple(parse_filters(["shelf=B", "rank>=40"])),
                             np.array([r.metadata["shelf"] == "B" and int(r.metadata["rank"]) >= 40 for r in rows]))]:
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

    @staticmethod
    def engine_keywords(store: VectorStore) -> KeywordSearch:
        keywords = keyword_search(store)
        if keywords is None:
            pytest.skip(f"{type(store).__name__} does not rank keywords in its engine (ragtune's BM25 does)")
        return keywords

    def test_keyword_query_returns_the_chunks_sharing_a_word_best_first(self, store):
        keywords = self.engine_keywords(store)
        assert keywords.keyword_query("apple", 5) == []  # an empty store
        rows = corpus_rows()
        write(store, rows)
        words = [set(r.text.split()) for r in rows]
        for where, mask in [((), [True] * len(rows)),
                            (tuple(parse_filters(["shelf=B", "rank>=40"])),
                             [r.metadata["shelf"] == "B" and int(r.metadata["rank"]) >= 40 for r in rows])]:
            for query, q in [("apple", {"apple"}), ("cherry mango", {"cherry", "mango"}),
                             ("the plums and a lemon", {"plum", "lemon"})]:  # stop words dropped, plural stemmed
                got = keywords.keyword_query(query, len(rows), where)
                assert {i for i, _ in got} == {r.chunk_id for r, w, m in zip(rows, words, mask, strict=True)
                                               if m and w & q}
                assert [s for _, s in got] == sorted((s for _, s in got), reverse=True) and got[-1][1] > 0
                assert len(keywords.keyword_query(query, 3, where)) == 3
        assert keywords.keyword_query("kiwi", 10) == [] and keywords.keyword_query("the and of", 10) == []
        assert keywords.keyword_query("apple", 0) == []

    def test_keyword_query_weighs_rare_words_and_repeats(self, store):
        keywords = self.engine_keywords(store)
        write(store, chunks_of("common", ["apple banana cherry grape"]) + chunks_of("c2", ["apple lemon mango olive"])
              + chunks_of("c3", ["apple peach pear plum"]) + chunks_of("rare", ["banana quince lemon mango"])
              + chunks_of("twice", ["quince quince olive peach"]))
        ranked = [i for i, _ in keywords.keyword_query("apple quince", 5)]
        # quince is in two chunks, apple in three: the rarer word weighs more, and a repeat adds to it
        assert ranked[:2] == ["twice#0", "rare#0"] and set(ranked[2:]) == {"common#0", "c2#0", "c3#0"}

    def test_keyword_query_follows_upserts_and_deletes(self, store):
        keywords = self.engine_keywords(store)
        write(store, chunks_of("a", ["invoices are emailed monthly"], tag="x"))
        write(store, chunks_of("b", ["refunds take five days"], tag="y"))
        assert [i for i, _ in keywords.keyword_query("refunds invoices", 5, parse_filters(["tag=x"]))] == ["a#0"]
        write(store, chunks_of("a", ["webhooks retry deliveries"], tag="x"), version="v2")
        assert [i for i, _ in keywords.keyword_query("invoices refunds", 5)] == ["b#0"]
        assert [i for i, _ in keywords.keyword_query("webhook", 5)] == ["a#0"]  # stemmed on both sides
        store.delete(["b"])
        assert keywords.keyword_query("refunds", 5) == []

    def test_upsert_replaces_and_delete_removes(self, store):
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

    def test_export_pages_hold_every_chunk_with_its_vector_and_bookkeeping(self, store):
        rows = chunks_of("long", ["one", "two", "three"]) + chunks_of("short", ["s"])
        vectors = write(store, rows)
        pages = list(store.export(batch_size=2))
        got = {c.chunk_id: (c.text, v) for p in pages for c, v in zip(p.chunks, p.vectors, strict=True)}
        assert sorted(got) == sorted(c.chunk_id for c in rows)
        for c, v in zip(rows, vectors, strict=True):
            assert got[c.chunk_id][0] == c.text
            np.testing.assert_allclose(got[c.chunk_id][1], v, atol=1e-3)
        for p in pages:
            assert all(p.doc_hashes[c.doc_id] == f"{c.doc_id}-v1" for c in p.chunks)
            assert all(p.doc_chunks[c.doc_id] == (3 if c.doc_id == "long" else 1) for c in p.chunks)

    def test_half_written_and_mixed_version_documents_are_incomplete(self, store):
        long = chunks_of("long", ["one", "two", "three", "four"])
        write(store, long[:2], doc_chunks={"long": 4})  # the writer died after its first batch
        write(store, chunks_of("whole", ["w"]))
        states = store.documents()
        assert not states["long"].complete and states["whole"].complete
        write(store, long)
        assert store.documents()["long"].complete
        write(store, chunks_of("long", ["ONE"]), version="v2", doc_chunks={"long": 1})  # an update cut short
        assert not store.documents()["long"].complete

    @pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
    def test_sigkill_mid_ingest_then_rerun_equals_a_clean_ingest(self, tmp_path, store_spec):
        files = {f"f{i:02d}.txt": f"Widget{i} notes. " + " ".join(f"Sentence {j} about widget{i}."
                                                                     for j in range(40 * (i % 3)))
                 for i in range(40)}
        docs = write_files(tmp_path / "docs", files)
        proj = tmp_path / "proj"
        new_project(proj, store_spec)
        script = tmp_path / "driver.py"
        script.write_text(DRIVER)
        proc = subprocess.Popen([sys.executable, str(script), str(proj), str(docs)], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        assert proc.stdout is not None
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
        clean = new_project(tmp_path / "clean", ComponentSpec(type="chroma"))
        ingest(clean, [docs])
        got = {c.chunk_id: (c.text, c.metadata) for b in p.store.iter_chunks() for c in b}
        want = {c.chunk_id: (c.text, c.metadata) for b in clean.store.iter_chunks() for c in b}
        assert got == want and p.store.count() == len(want)
        assert all(s.complete for s in p.store.documents().values())
        if keyword_search(p.store) is None:
            assert sorted(json.loads((p.bm25.folder / "ids.json").read_text())) == sorted(want)
        else:  # the engine ranks keywords: no BM25 index is built beside it
            assert not p.bm25.exists()
