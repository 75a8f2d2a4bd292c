"""The streamed BM25 build (batch by batch into token-id arrays) ranks exactly like one bm25s index
built from every text at once and searched by bm25s itself, the way the index was built and searched
before streaming and before the top k was picked among the chunks sharing a query token."""

import random

import bm25s
import pytest

from ragtune.documents.types import Chunk
from ragtune.retrieval import bm25
from ragtune.retrieval.bm25 import BM25Index, tokenize

WORDS = ["refund", "card", "invoice", "webhook", "retry", "delivery", "token", "export", "archive", "the", "of",
         "running", "runs", "ran", "Dogs", "dog", "cat", "zebra", "quantum", "minute", "workspace", "sso", "saml",
         "admin", "email", "monthly"]


def assert_same_ranking(got: list[tuple[str, float]], want: list[tuple[str, float]], complete: bool) -> None:
    """The same scores in the same order, and the same ids at each score. Which of the chunks tied at
    the cut-off make a top k is arbitrary in bm25s (ragtune takes them in index order), so that last
    group is compared only when the ranking is ``complete`` (every chunk with a positive score)."""
    assert [s for _, s in got] == [s for _, s in want]
    groups = sorted({s for _, s in want}, reverse=True)
    for s in groups if complete else groups[:-1]:
        assert {c for c, x in got if x == s} == {c for c, x in want if x == s}


def corpus(n: int, seed: int = 7) -> list[Chunk]:
    rng = random.Random(seed)
    texts = [" ".join(rng.choices(WORDS, k=rng.randint(1, 40))) for _ in range(n)]
    texts[3] = "the of"  # only stopwords: no tokens at all
    texts[5] = texts[4]  # duplicates tie
    return [Chunk(chunk_id=f"d{i}#0", doc_id=f"d{i}", index=0, text=t) for i, t in enumerate(texts)]


@pytest.mark.parametrize(("batch", "step"), [(1, 1 << 20), (7, 13), (1000, 1), (1000, 1 << 20)])
def test_streamed_index_ranks_exactly_like_the_whole_corpus_at_once(tmp_path, monkeypatch, batch, step):
    monkeypatch.setattr(bm25, "PAIRS_PER_STEP", step)  # the matrix placed in several steps, or one
    chunks = corpus(300)
    reference = bm25s.BM25()
    reference.index(tokenize([c.indexed_text for c in chunks]), show_progress=False)
    index = BM25Index(tmp_path / "bm25")
    assert index.rebuild(chunks[i:i + batch] for i in range(0, len(chunks), batch)) == len(chunks)
    for query in ["refund card", "running dogs", "zebra quantum workspace minute", "saml", "the dog ran"]:
        for k in (len(chunks), 10):  # the top 10 also cuts through ties the same way
            docs, scores = reference.retrieve(tokenize([query]), k=k, show_progress=False)
            want = [(chunks[d].chunk_id, float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
            assert want
            got = index.search(query, k=k)
            assert_same_ranking(got, want, complete=k == len(chunks))
            ties = [i for i in range(1, len(got)) if got[i][1] == got[i - 1][1]]
            assert all(index.ids.index(got[i - 1][0]) < index.ids.index(got[i][0]) for i in ties)


@pytest.mark.parametrize("step", [5, 1 << 20])
def test_streamed_build_writes_the_arrays_bm25s_writes(tmp_path, monkeypatch, step):
    """Not only the same ranking: the same scores, rows, column starts and vocabulary on disk."""
    monkeypatch.setattr(bm25, "PAIRS_PER_STEP", step)
    chunks = corpus(120, seed=3)
    reference = bm25s.BM25()
    reference.index(tokenize([c.indexed_text for c in chunks]), show_progress=False)
    reference.save(str(tmp_path / "ref"), show_progress=False)
    BM25Index(tmp_path / "bm25").rebuild([chunks[:50], [], chunks[50:]])
    built, want = bm25s.BM25.load(str(tmp_path / "bm25")), bm25s.BM25.load(str(tmp_path / "ref"))
    assert built.vocab_dict == want.vocab_dict
    for key in ("data", "indices", "indptr"):
        assert built.scores[key].tolist() == want.scores[key].tolist()
    assert built.scores["num_docs"] == want.scores["num_docs"] == 120


def test_an_empty_rebuild_finds_nothing(tmp_path):
    index = BM25Index(tmp_path / "bm25")
    assert index.rebuild([]) == 0
    assert index.is_current() and index.search("refund", k=5) == []
