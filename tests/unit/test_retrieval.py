import json

import numpy as np
import pytest

from conftest import make_project, write_files
from ragtune.config import ComponentSpec, RetrievalConfig
from ragtune.embedding.fake import HashingEmbedder
from ragtune.errors import RagtuneError
from ragtune.rag.ingest import ingest
from ragtune.retrieval.rerank import OverlapReranker
from ragtune.retrieval.retriever import Retriever
from ragtune.stores.filters import parse_filters

MODES = ["dense", "bm25", "hybrid"]

KNOWN = [
    ("refunds to the original card", "kb/refunds.md"),
    ("webhooks retry failed deliveries", "kb/webhooks.md"),
    ("SAML single sign-on administrator", "kb/sso.md"),
    ("requests per minute per workspace token", "kb/ratelimits.md"),
    ("export workspace data as a zip archive", "kb/export.md"),
    ("invoices emailed monthly", "kb/billing.md"),
]


@pytest.mark.parametrize("mode", MODES)
def test_known_answers(indexed, mode):
    p, _ = indexed
    for query, doc in KNOWN:
        hits = p.retriever.search(query, k=3, mode=mode)
        assert hits and hits[0].chunk.doc_id == doc, (mode, query, [h.chunk.doc_id for h in hits])
        assert len(hits) <= 3
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_hits_carry_chunk_and_scores(indexed):
    p, docs = indexed
    (hit,) = p.retriever.search("webhooks retry failed deliveries", k=1, mode="hybrid")
    c = hit.chunk
    assert (c.chunk_id, c.doc_id, c.index, c.title) == ("kb/webhooks.md#0", "kb/webhooks.md", 0, "Webhooks")
    assert c.text == "Webhooks retry failed deliveries eight times with exponential backoff."
    assert c.metadata == {"category": "api", "year": 2022, "updated": "2022-11-30",
                          "source": str((docs / "kb" / "webhooks.md").resolve())}
    assert set(hit.scores) == {"dense", "bm25", "rrf"}
    assert hit.score == hit.scores["rrf"] == pytest.approx(2 / 61)  # first in both lists
    # the dense score is the cosine similarity of the two hashed vectors
    emb = HashingEmbedder()
    q, d = emb.embed(["webhooks retry failed deliveries", c.indexed_text])
    assert hit.scores["dense"] == pytest.approx(float(np.dot(q, d)), abs=1e-5)


# --- filters are applied before ranking ----------------------------------------------------------

N_DOCS = 12


@pytest.fixture(scope="module")
def shelves(tmp_path_factory):
    """12 documents, all about apples; the more 'apple', the better the match. The six best are on
    shelf A, so a filter on shelf B excludes every top match."""
    rows = [{"_id": f"d{i:02d}", "text": " ".join(["apple"] * (N_DOCS + 1 - i) + [f"filler{i}", f"word{i}"]),
             "shelf": "A" if i < 6 else "B", "rank": i, "added": f"2024-01-{i + 1:02d}"} for i in range(N_DOCS)]
    tmp_path = tmp_path_factory.mktemp("shelves")
    folder = tmp_path / "shelves"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    # few candidates: a search that filtered after ranking would find nothing on shelf B
    p = make_project(tmp_path / "proj", retrieval=RetrievalConfig(candidates=3))
    assert ingest(p, [folder]).added == N_DOCS
    return p, rows


def _dense_oracle(rows, query, allowed):
    """Brute-force cosine ranking over the allowed documents."""
    emb = HashingEmbedder()
    q = emb.embed([query])[0]
    vecs = emb.embed([r["text"] for r in rows])
    scored = [(float(np.dot(q, v)), r["_id"]) for r, v in zip(rows, vecs, strict=True) if allowed(r)]
    return [d for _, d in sorted(scored, key=lambda x: (-x[0], x[1]))]


def test_unfiltered_best_matches_are_on_shelf_a(shelves):
    p, _ = shelves
    for mode in MODES:
        assert [h.chunk.doc_id for h in p.retriever.search("apple", k=3, mode=mode)] == ["d00", "d01", "d02"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("expr, allowed", [
    ("shelf=B", lambda r: r["shelf"] == "B"),
    ("shelf!=A", lambda r: r["shelf"] != "A"),
    ("rank>=8", lambda r: r["rank"] >= 8),
    ("added>2024-01-09", lambda r: r["added"] > "2024-01-09"),
    ("rank in 7,9,11,40", lambda r: r["rank"] in (7, 9, 11)),
    ("rank in 7, 9.0, 11", lambda r: r["rank"] in (7, 9, 11)),  # ints and floats mixed
])
def test_filter_excluding_the_best_match_still_returns_k(shelves, mode, expr, allowed):
    p, rows = shelves
    hits = p.retriever.search("apple", k=3, mode=mode, where=parse_filters([expr]))
    got = [h.chunk.doc_id for h in hits]
    expected = [r["_id"] for r in rows if allowed(r)][:3]  # by construction: fewer apples rank lower
    assert got == expected
    if mode == "dense":
        assert got == _dense_oracle(rows, "apple", allowed)[:3]


@pytest.mark.xfail(strict=True, reason="Chroma 1.5 truncates a fractional operand compared with an integer "
                                       "field (rank>=9.5 behaves as rank>=9); strict, so a fix upstream shows")
def test_fractional_bound_on_an_integer_field(shelves):
    p, _ = shelves
    ids = p.store.ids_matching(parse_filters(["rank>=9.5"]))
    assert sorted(i.split("#")[0] for i in ids) == ["d10", "d11"]


@pytest.mark.parametrize("mode", MODES)
def test_filters_combine_and_can_match_nothing(shelves, mode):
    p, _ = shelves
    hits = p.retriever.search("apple", k=5, mode=mode, where=parse_filters(["shelf=B", "rank<8"]))
    assert [h.chunk.doc_id for h in hits] == ["d06", "d07"]
    assert p.retriever.search("apple", k=5, mode=mode, where=parse_filters(["shelf=C"])) == []


def test_hybrid_with_a_reranker(shelves):
    p, _ = shelves
    retriever = Retriever(p.store, p.bm25, p.embedder, candidates=3, reranker=OverlapReranker())
    hits = retriever.search("apple filler9", k=3, mode="hybrid", where=parse_filters(["shelf=B"]))
    # only d09 holds both query words; the rest hold one of two
    assert hits[0].chunk.doc_id == "d09" and hits[0].score == 1.0
    assert [h.score for h in hits[1:]] == [0.5, 0.5]
    assert all("rerank" in h.scores and "rrf" in h.scores for h in hits)
    assert all(h.chunk.metadata["shelf"] == "B" for h in hits)


class ReversingReranker:
    """Scripted: puts the first stage's order upside down, dropping the last ``drop`` candidates first."""

    def __init__(self, drop: int = 0):
        self.drop = drop

    def rerank(self, query, hits):
        hits = hits[:len(hits) - self.drop]
        for i, h in enumerate(reversed(hits)):
            h.score = h.scores["rerank"] = float(len(hits) - i)
        return hits[::-1]

    def warm_up(self):
        pass

    def to_dict(self):
        return {"type": "reversing"}


@pytest.mark.parametrize(("weight", "order"), [(0.0, ["d02", "d01", "d00"]), (0.5, ["d02", "d01", "d00"]),
                                               (2.0, ["d00", "d01", "d02"])])
def test_rerank_fusion_weighs_the_first_stage_order(shelves, weight, order):
    p, _ = shelves
    retriever = Retriever(p.store, p.bm25, p.embedder, candidates=3, reranker=ReversingReranker(),
                          rerank_fusion=weight)
    hits = retriever.search("apple", k=3, mode="bm25")  # first stage: the more apples, the higher (d00, d01, d02)
    assert [h.chunk.doc_id for h in hits] == order
    if weight:  # reciprocal rank fusion by hand: re-ranker rank r (weight 1), first-stage rank f (weight w), k = 60
        expected = {"d00": 1 / 63 + weight / 61, "d01": 1 / 62 + weight / 62, "d02": 1 / 61 + weight / 63}
        assert [h.score for h in hits] == pytest.approx([expected[h.chunk.doc_id] for h in hits])
        assert all(h.scores["rerank_fused"] == h.score for h in hits)
    else:
        assert [h.score for h in hits] == [3.0, 2.0, 1.0] and all("rerank_fused" not in h.scores for h in hits)


def test_rerank_fusion_keeps_what_the_reranker_dropped_out(shelves):
    p, _ = shelves
    retriever = Retriever(p.store, p.bm25, p.embedder, candidates=3, reranker=ReversingReranker(drop=1),
                          rerank_fusion=2.0)
    assert [h.chunk.doc_id for h in retriever.search("apple", k=3, mode="bm25")] == ["d00", "d01"]


def test_rerank_fusion_from_the_project_config(tmp_path, corpus_dir):
    p = make_project(tmp_path / "proj", reranker=ComponentSpec(type="overlap"),
                     retrieval=RetrievalConfig(rerank_fusion=0.5))
    assert p.retriever.rerank_fusion == 0.5
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        RetrievalConfig(rerank_fusion=-1)


def test_reranker_from_saved_config(tmp_path, corpus_dir):
    p = make_project(tmp_path / "proj", reranker=ComponentSpec(type="overlap"))
    ingest(p, [corpus_dir / "kb"])
    hits = p.retriever.search("administrators export zip", k=2, mode="hybrid")
    assert hits[0].chunk.doc_id == "kb/export.md" and hits[0].scores["rerank"] == 1.0


@pytest.mark.parametrize("query", ["", "   ", "\n"])
def test_empty_query_is_an_error(indexed, query):
    p, _ = indexed
    with pytest.raises(RagtuneError, match="empty query"):
        p.retriever.search(query)


def test_unknown_mode_is_an_error(indexed):
    p, _ = indexed
    with pytest.raises(RagtuneError, match="unknown search mode"):
        p.retriever.search("apple", mode="sparse")


def test_query_with_only_stop_words_or_unknown_words(indexed):
    p, _ = indexed
    assert p.retriever.search("the of and", k=3, mode="bm25") == []
    assert p.retriever.search("xylophone", k=3, mode="bm25") == []
    assert len(p.retriever.search("xylophone", k=3, mode="hybrid")) == 3  # dense always ranks something


@pytest.mark.parametrize("mode", MODES)
def test_empty_index_returns_nothing(project, mode):
    assert project.retriever.search("anything", k=3, mode=mode) == []


def test_stale_bm25_is_not_rebuilt_while_an_ingest_holds_the_lock(tmp_path):
    from filelock import FileLock

    docs = write_files(tmp_path / "docs", {"a.txt": "Webhooks retry five times.", "b.txt": "Plans cost money."})
    p = make_project(tmp_path / "proj")
    ingest(p, [docs])
    p.bm25.mark_stale()
    with FileLock(str(p.root / "write.lock")):  # another writer is busy
        hits = p.retriever.search("webhooks retry", k=1, mode="bm25")
        assert hits[0].chunk.doc_id == "docs/a.txt"  # the previous index still answers
        assert not p.bm25.is_current()  # and was left for the writer to rebuild
    p.retriever.search("webhooks retry", k=1, mode="bm25")
    assert p.bm25.is_current()
