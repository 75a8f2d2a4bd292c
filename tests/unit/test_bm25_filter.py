"""A filtered BM25 (and so hybrid) search masks scores with the metadata columns kept beside the index
instead of fetching every matching id from the store. The store (embedded Chroma) is the oracle: the
columns select exactly the chunks its filter selects, and a filtered search ranks exactly like today's
path (the unfiltered ranking restricted to the ids the store returns), after deletes and updates too."""

import json
import shutil
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import make_project
from ragtune.errors import RagtuneError
from ragtune.project import Project
from ragtune.rag.ingest import ingest
from ragtune.retrieval.fusion import reciprocal_rank_fusion
from ragtune.stores.filters import parse_filter, parse_filters

SCIFACT = Path(__file__).parents[2].parent / "shared/data" / "scifact" / "corpus.jsonl"
MIXED = ["4", 4, 4.0, True, "x", 0, False, 4.5, None]  # one key holding every kind, sometimes absent
WORDS = ["apple", "pear", "plum", "cell", "gene", "protein", "tumour", "the", "of", "growth", "signal"]


def metadata(i: int) -> dict:
    meta = {"cat": f"c{i % 4}", "year": 2018 + i % 7, "score": (i % 9) / 2, "day": f"2024-0{1 + i % 9}-1{i % 10}",
            "mixed": MIXED[i % len(MIXED)]}
    if i % 11 == 0:
        meta["year"] = str(meta["year"])  # the same key as text in a few documents
    if i % 5:
        meta["flag"] = i % 3 == 0
    return {k: v for k, v in meta.items() if v is not None}


def write_corpus(folder, texts: dict[str, str], meta=metadata) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"_id": d, "text": t, **meta(int(d[1:]))} for d, t in texts.items()]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")


def fake_texts(n: int, seed: int = 3) -> dict[str, str]:
    rng = np.random.default_rng(seed)
    return {f"d{i:03d}": " ".join(rng.choice(WORDS, size=int(rng.integers(2, 30)))) for i in range(n)}


def scifact_texts(n: int) -> dict[str, str]:
    with SCIFACT.open(encoding="utf-8") as f:
        rows = [json.loads(next(f)) for _ in range(n)]
    return {f"d{i:03d}": f"{r['title']}\n{r['text']}" for i, r in enumerate(rows)}


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bm25filter")
    write_corpus(tmp / "docs", fake_texts(120))
    p = make_project(tmp / "proj")
    ingest(p, [tmp / "docs"])
    return p


def mask_ids(p, mask) -> set[str]:
    return {p.bm25.ids[i] for i in np.flatnonzero(mask)}


KEYS = ["cat", "year", "score", "day", "mixed", "flag", "nokey", "doc_id", "title", "chunk_index", "doc_hash"]
VALUES = ["c0", "c1", "4", "4.0", "4.5", "true", "false", "0", "2020", "2021.0", "2020.5", "2024-03-12",
          "2024-05-15", "x", "-1", "2", "d001"]
expressions = st.one_of(
    st.builds(lambda k, op, v: f"{k}{op}{v}", st.sampled_from(KEYS), st.sampled_from(["=", "!=", ">", ">=", "<", "<="]),
              st.sampled_from(VALUES)),
    st.builds(lambda k, vs: f"{k} in {','.join(vs)}", st.sampled_from(KEYS),
              st.lists(st.sampled_from(VALUES), min_size=1, max_size=3)))


def store_only(where) -> bool:
    """Where the columns defer to the store: bookkeeping keys not on a chunk, and a fractional bound,
    which Chroma truncates against whole numbers."""
    def fractional(c):
        values = c.value if isinstance(c.value, tuple) else (c.value,)
        return any(isinstance(v, float) and not v.is_integer() for v in values)
    return any(c.key in ("doc_hash", "doc_chunks") or fractional(c) for c in where)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exprs=st.lists(expressions, min_size=1, max_size=2))
def test_columns_select_what_the_store_selects(fake, exprs):
    try:
        where = [parse_filter(e) for e in exprs]
    except RagtuneError:
        assume(False)
    mask = fake.bm25.filter_mask(where)
    if mask is None:
        assert store_only(where), exprs
    else:
        assert mask_ids(fake, mask) == fake.store.ids_matching(where), exprs


def test_every_kind_of_value_is_answered_by_the_columns(fake):
    for expr, count in [("cat=c0", 30), ("year>=2022", None), ("year=2018", None), ("mixed=4", None),
                        ("mixed!=true", None), ("day<2024-03-01", None), ("flag=false", None), ("nokey!=1", 120),
                        ("score in 1.5,4", None), ("doc_id=d001", None)]:
        where = parse_filters([expr])
        mask = fake.bm25.filter_mask(where)
        assert mask is not None, expr
        want = fake.store.ids_matching(where)
        assert mask_ids(fake, mask) == want and want, expr
        assert count is None or len(want) == count


def exact_dense(p, q: str, where) -> list[tuple[str, float]]:
    """Every chunk the store's filter keeps with its cosine to the query, best first (ties by id): brute force
    over the stored vectors."""
    allowed = p.store.ids_matching(where)
    v = p.embedder.embed([q])[0]
    v = v / np.linalg.norm(v)
    out = []
    for page in p.store.export():
        m = np.asarray(page.vectors, dtype=np.float64)
        sims = (m / np.linalg.norm(m, axis=1, keepdims=True)) @ v
        out += [(c.chunk_id, float(s)) for c, s in zip(page.chunks, sims, strict=True) if c.chunk_id in allowed]
    return sorted(out, key=lambda h: (-h[1], h[0]))


def assert_approximates(got: list[tuple[str, float]], exact: list[tuple[str, float]], n: int, label) -> None:
    """``got`` is what an approximate (HNSW) index may return for the top n of ``exact``: as many hits, each a
    matching chunk with its true cosine, best first, and at least 9 in 10 within the exact top n (a chunk
    tied with the n-th counts as within)."""
    true = dict(exact)
    assert len(got) == min(n, len(exact)), label
    assert all(c in true and abs(s - true[c]) < 1e-4 for c, s in got), label
    assert all(a[1] >= b[1] for a, b in pairwise(got)), label
    if got:
        cut = exact[len(got) - 1][1]
        assert sum(s >= cut - 1e-4 for _, s in got) >= 0.9 * len(got), label


def assert_ranks_like_todays_path(p, queries, wheres, n: int = 10) -> None:
    """bm25: the complete unfiltered ranking restricted to the store's ids; dense: the exact filtered ranking
    as an approximate index finds it; hybrid: the two fused."""
    everything = len(p.bm25.ids)
    for where in wheres:
        allowed = p.store.ids_matching(where)
        for q in queries:
            todays = [(c, s) for c, s in p.bm25.search(q, everything) if c in allowed][:n]
            assert [(c, s) for c, s, _ in p.retriever.rank(q, n, "bm25", where)] == todays, (q, where)
            dense = [(c, s) for c, s, _ in p.retriever.rank(q, n, "dense", where)]
            assert_approximates(dense, exact_dense(p, q, where), n, (q, where))
            fused = reciprocal_rank_fusion([[c for c, _ in dense], [c for c, _ in todays]], k=p.retriever.rrf_k)
            assert [(c, s) for c, s, _ in p.retriever.rank(q, n, "hybrid", where)] == fused, (q, where)


WHERES = [parse_filters(e) for e in (["cat=c0"], ["cat in c1,c2", "year>=2020"], ["flag=true"], ["mixed!=4"],
                                     ["day>=2024-05-01"], ["year>=2020.5"], ["doc_hash!=x", "cat=c3"], ["cat=none"])]


@pytest.mark.parametrize("corpus", ["fake", pytest.param("scifact", marks=pytest.mark.skipif(
    not SCIFACT.exists(), reason=f"shared data not found at {SCIFACT}"))])
def test_filtered_search_ranks_like_todays_path_after_deletes_and_updates(tmp_path, corpus):
    texts = fake_texts(150) if corpus == "fake" else scifact_texts(150)
    queries = (["apple gene", "protein growth signal", "plum", "tumour the cell"] if corpus == "fake" else
               ["stem cells differentiate", "vitamin D deficiency", "protein folding in the cell", "cancer risk"])
    write_corpus(tmp_path / "docs", texts)
    p = make_project(tmp_path / "proj")
    ingest(p, [tmp_path / "docs"])
    assert_ranks_like_todays_path(p, queries, WHERES)
    # delete a third, rewrite another third's text and metadata, add new documents
    ids = sorted(texts)
    kept = {d: t for d, t in texts.items() if d not in ids[::3]}
    for d in ids[1::3]:
        kept[d] = texts[ids[(ids.index(d) + 7) % len(ids)]]
    kept.update({f"d{i}": texts[ids[i % len(ids)]] for i in range(500, 520)})
    write_corpus(tmp_path / "docs", kept, meta=lambda i: metadata(i * 7 + 1))
    report = ingest(p, [tmp_path / "docs"], prune=True)
    assert report.added == 20 and report.removed == len(ids[::3])
    assert len(p.bm25.ids) == p.store.count()
    assert_ranks_like_todays_path(p, queries, WHERES)


def test_an_index_without_columns_is_rebuilt_once(fake, tmp_path):
    shutil.copytree(fake.root, tmp_path / "copy")
    p = Project(tmp_path / "copy")
    (p.bm25.folder / "columns.json").unlink()  # as an index written before the columns were kept
    assert not p.bm25.is_current()
    where = parse_filters(["cat=c2"])
    hits = p.retriever.search("apple gene", k=5, mode="bm25", where=where)
    assert hits and all(h.chunk.metadata["cat"] == "c2" for h in hits)
    assert p.bm25.is_current()


def spy_on_store_queries(p, monkeypatch) -> list[tuple[int, bool]]:
    """(k, filtered) of every dense query the retriever sends to the store."""
    calls: list[tuple[int, bool]] = []
    query = p.store.query

    def spy(vector, k, where=()):
        calls.append((k, bool(where)))
        return query(vector, k, where)

    monkeypatch.setattr(p.store, "query", spy)
    return calls


@pytest.mark.parametrize("expr, oversample, calls", [
    # a quarter of the chunks: an unfiltered top 10 x 2 / 0.25, filtered by the columns
    (["cat=c0"], None, [(80, False)]),
    # 2 of 120 chunks: 1,200 to fetch is over the limit, so the store filters
    (["doc_id in d001,d002"], None, [(10, True)]),
    # an oversampled list holding too few matches (20 fetched, ~5 in c0): the store filters after all
    (["cat=c0"], 0.5, [(20, False), (10, True)]),
    # a condition the columns cannot answer
    (["doc_hash!=x", "cat=c3"], None, [(10, True)]),
])
def test_filtered_dense_search_filters_an_oversampled_list_when_that_is_cheaper(fake, monkeypatch, expr, oversample,
                                                                               calls):
    import ragtune.retrieval.retriever as retriever

    if oversample is not None:
        monkeypatch.setattr(retriever, "OVERSAMPLE", oversample)
    where = parse_filters(expr)
    for q in ["apple gene", "protein growth signal", "plum"]:
        exact = exact_dense(fake, q, where)
        made = spy_on_store_queries(fake, monkeypatch)
        assert_approximates([(c, s) for c, s, _ in fake.retriever.rank(q, 10, "dense", where)], exact, 10, (q, expr))
        assert made == calls


def test_a_server_sees_the_index_another_process_rebuilt(fake, tmp_path):
    shutil.copytree(fake.root, tmp_path / "proj")
    server = Project(tmp_path / "proj")
    where = parse_filters(["cat=c0"])
    before = server.retriever.rank("apple pear plum", 5, "hybrid", where)  # reads the index into memory
    assert "d500#0" not in {c for c, _, _ in before}
    docs = tmp_path / "more"
    write_corpus(docs, {"d500": "apple pear plum apple pear plum"})  # metadata(500): cat c0
    ingest(Project(tmp_path / "proj"), [docs])  # another process's ingest
    for mode in ("dense", "bm25", "hybrid"):
        ranked = [c for c, _, _ in server.retriever.rank("apple pear plum", 5, mode, where)]
        assert ranked[0] == "d500#0", mode


def test_a_stale_index_leaves_the_dense_filter_to_the_store(fake, tmp_path, monkeypatch):
    shutil.copytree(fake.root, tmp_path / "proj")
    p = Project(tmp_path / "proj")
    p.bm25.mark_stale()  # as while an ingest writes: the columns may not describe the store
    where = parse_filters(["cat=c0"])
    made = spy_on_store_queries(p, monkeypatch)
    ranked = [(c, s) for c, s, _ in p.retriever.rank("apple gene", 10, "dense", where)]
    assert made == [(10, True)]
    assert_approximates(ranked, exact_dense(p, "apple gene", where), 10, "stale")
