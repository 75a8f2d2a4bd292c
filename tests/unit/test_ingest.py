from pathlib import Path

import pytest

from conftest import CountingEmbedder, make_project, write_files
from ragtune.config import ComponentSpec
from ragtune.errors import RagtuneError
from ragtune.project import Project
from ragtune.rag.ingest import ingest
from ragtune.stores.filters import parse_filters

LONG = " ".join(f"Sentence {i} of the long document mentions topic{i} in passing." for i in range(60))


def store_ids(p) -> list[str]:
    return sorted(c.chunk_id for batch in p.store.iter_chunks() for c in batch)


def expected_chunks(p, folder: Path) -> list[str]:
    """The chunk ids the project's chunker makes of every file, loaded independently of ingest."""
    from ragtune.documents.discover import discover
    from ragtune.documents.loaders import loader_for

    ids = []
    for item in discover([folder.resolve()]):
        for doc in loader_for(item.path).load(item.path, item.doc_id):
            ids += [c.chunk_id for c in p.chunker.split(doc)]
    return sorted(ids)


def count_embeds(p) -> CountingEmbedder:
    p.embedder = CountingEmbedder(p.embedder)  # replaces the cached component on this Project
    return p.embedder


@pytest.fixture
def docs(tmp_path):
    return write_files(tmp_path / "docs", {"a.txt": "Alpha document about apples.",
                                            "b.md": "# Bravo\n\nBravo document about bananas.",
                                            "long.txt": LONG})


def test_incremental_counts_across_runs(tmp_path, docs):
    p = make_project(tmp_path / "proj", chunker=ComponentSpec(type="sentence", params={"max_tokens": 40}))
    r = ingest(p, [docs])
    assert (r.added, r.updated, r.unchanged, r.removed) == (3, 0, 0, 0)
    assert r.chunks == len(expected_chunks(p, docs)) > 3
    assert store_ids(p) == expected_chunks(p, docs)

    r = ingest(p, [docs])
    assert (r.added, r.updated, r.unchanged, r.removed, r.chunks) == (0, 0, 3, 0, 0)

    (docs / "a.txt").write_text("Alpha document about apricots now.")
    (docs / "c.txt").write_text("Charlie document about cherries.")
    (docs / "b.md").unlink()
    r = ingest(p, [docs])  # without prune, the deleted file's document stays
    assert (r.added, r.updated, r.unchanged, r.removed) == (1, 1, 1, 0)
    assert "docs/b.md" in p.store.documents()

    r = ingest(p, [docs], prune=True)
    assert (r.added, r.updated, r.unchanged, r.removed) == (0, 0, 3, 1)
    assert sorted(p.store.documents()) == ["docs/a.txt", "docs/c.txt", "docs/long.txt"]
    assert store_ids(p) == expected_chunks(p, docs)
    (chunk,) = p.store.get(["docs/a.txt#0"])
    assert chunk.text == "Alpha document about apricots now."


def test_prune_leaves_other_roots_alone(tmp_path, docs):
    other = write_files(tmp_path / "other", {"x.txt": "Xray document.", "y.txt": "Yankee document."})
    p = make_project(tmp_path / "proj")
    ingest(p, [docs])
    ingest(p, [other])
    (docs / "a.txt").unlink()
    r = ingest(p, [docs], prune=True)
    assert r.removed == 1
    assert sorted(p.store.documents()) == ["docs/b.md", "docs/long.txt", "other/x.txt", "other/y.txt"]
    # a pruning run over a single file touches nothing beside that file
    (other / "y.txt").unlink()
    ingest(p, [docs / "b.md"], prune=True)
    assert {"docs/long.txt", "other/x.txt", "other/y.txt"} <= set(p.store.documents())


def test_meta_values_are_stored_and_filterable(tmp_path, docs):
    other = write_files(tmp_path / "other", {"x.txt": "Xray document about apples."})
    p = make_project(tmp_path / "proj")
    ingest(p, [docs], meta={"team": "fruit", "year": 2024, "reviewed": "2024-06-01", "public": True})
    ingest(p, [other], meta={"team": "misc", "year": 2020, "reviewed": "2020-01-15", "public": False})
    (a,) = p.store.get(["docs/a.txt#0"])
    assert {k: a.metadata[k] for k in ("team", "year", "reviewed", "public")} == {
        "team": "fruit", "year": 2024, "reviewed": "2024-06-01", "public": True}

    def docs_matching(*exprs):
        ids = p.store.ids_matching(parse_filters(list(exprs)))
        return sorted({i.split("#")[0] for i in ids})

    fruit = ["docs/a.txt", "docs/b.md", "docs/long.txt"]
    assert docs_matching("team=misc") == ["other/x.txt"]
    assert docs_matching("team!=misc") == fruit
    assert docs_matching("year>=2021") == fruit
    assert docs_matching("year<2021") == ["other/x.txt"]
    assert docs_matching("reviewed>=2024-01-01") == fruit
    assert docs_matching("reviewed<2024-01-01") == ["other/x.txt"]
    assert docs_matching("public=true") == fruit
    assert docs_matching("team in misc,nobody") == ["other/x.txt"]
    assert docs_matching("year in 2020,2021.5") == ["other/x.txt"]  # ints and floats in one list
    assert docs_matching("team in misc,42") == ["other/x.txt"]  # text and numbers in one list
    hits = p.retriever.search("apples", k=5, mode="bm25", where=parse_filters(["team=misc"]))
    assert [h.chunk.doc_id for h in hits] == ["other/x.txt"]
    # changing --meta changes the document: it is updated, not skipped
    r = ingest(p, [other], meta={"team": "moved", "year": 2020, "reviewed": "2020-01-15", "public": False})
    assert (r.updated, r.unchanged) == (1, 0)
    assert docs_matching("team=moved") == ["other/x.txt"]


def test_reingest_of_unchanged_folder_embeds_nothing(tmp_path, docs):
    p = make_project(tmp_path / "proj")
    counter = count_embeds(p)
    ingest(p, [docs])
    assert sorted(counter.texts) == sorted(c.indexed_text for c in p.chunker.split(_load(docs / "a.txt", "docs/a.txt"))
                                           + p.chunker.split(_load(docs / "b.md", "docs/b.md"))
                                           + p.chunker.split(_load(docs / "long.txt", "docs/long.txt")))
    counter.calls.clear()
    r = ingest(p, [docs])
    assert counter.calls == [] and r.unchanged == 3
    # a fresh Project object (a new process) sees the same: nothing to embed
    p2 = Project(tmp_path / "proj")
    counter2 = count_embeds(p2)
    assert ingest(p2, [docs]).unchanged == 3 and counter2.calls == []
    # one edit embeds only that document's chunks
    (docs / "a.txt").write_text("Alpha document about avocados.")
    ingest(p2, [docs])
    assert counter2.texts == ["a\nAlpha document about avocados."]


def _load(path: Path, doc_id: str):
    from ragtune.documents.loaders import loader_for

    (doc,) = loader_for(path).load(path, doc_id)
    return doc


def test_chunk_count_equals_sum_of_chunker_outputs(tmp_path):
    files = {f"f{i:02d}.txt": " ".join(f"Doc {i} sentence {j} talks about item{j}." for j in range(i * 3 + 1))
             for i in range(20)}
    folder = write_files(tmp_path / "many", files)
    p = make_project(tmp_path / "proj", chunker=ComponentSpec(type="token", params={"max_tokens": 24,
                                                                                    "overlap": 4}))
    r = ingest(p, [folder], batch_docs=3)  # several flushes
    expected = expected_chunks(p, folder)
    assert r.chunks == len(expected) == p.store.count()
    assert store_ids(p) == expected
    states = p.store.documents()
    assert len(states) == 20 and all(s.complete for s in states.values())


def test_problems_are_reported_while_the_rest_is_ingested(tmp_path):
    folder = write_files(tmp_path / "mixed", {
        "good.txt": "A good document.", "empty.txt": "", "binary.txt": b"\x00\x01\x02",
        "latin.md": "caf\u00e9".encode("latin-1"), "ok.md": "# Fine\n\nAnother good one.",
        "corpus.jsonl": '{"_id": "j1", "text": "json one"}\n{broken\n{"_id": "j2", "text": "json two"}\n'})
    p = make_project(tmp_path / "proj")
    r = ingest(p, [folder])
    assert r.added == 4
    assert sorted(p.store.documents()) == ["j1", "j2", "mixed/good.txt", "mixed/ok.md"]
    where = sorted(str(x).split(": ")[0] for x in r.problems)
    assert where == sorted([str(folder / "binary.txt"), str(folder / "corpus.jsonl") + ":2",
                            str(folder / "empty.txt"), str(folder / "latin.md")])
    assert r.to_dict()["skipped"] == [str(x) for x in r.problems]


def test_duplicate_document_ids_are_skipped(tmp_path):
    folder = write_files(tmp_path / "dup", {"a.jsonl": '{"_id": "same", "text": "first"}\n',
                                            "b.jsonl": '{"_id": "same", "text": "second"}\n'})
    p = make_project(tmp_path / "proj")
    r = ingest(p, [folder])
    assert r.added == 1 and len(r.problems) == 1 and "duplicate document id 'same'" in r.problems[0].message
    assert [c.text for c in p.store.get(["same#0"])] == ["first"]


def test_partially_written_document_is_detected_and_repaired(tmp_path, docs):
    p = make_project(tmp_path / "proj", chunker=ComponentSpec(type="sentence", params={"max_tokens": 40}))
    ingest(p, [docs])
    before = store_ids(p)
    long_ids = [i for i in before if i.startswith("docs/long.txt#")]
    assert len(long_ids) >= 3
    p.store.col.delete(ids=[long_ids[1]])  # as if the process died mid-write
    states = p.store.documents()
    assert not states["docs/long.txt"].complete
    assert states["docs/a.txt"].complete and states["docs/b.md"].complete

    p2 = Project(tmp_path / "proj")  # the next run, in a new process
    counter = count_embeds(p2)
    r = ingest(p2, [docs])
    assert (r.added, r.updated, r.unchanged) == (0, 1, 2)
    assert len(counter.texts) == len(long_ids)
    assert store_ids(p2) == before
    assert all(s.complete for s in p2.store.documents().values())


def test_mixed_versions_of_a_document_are_incomplete(tmp_path, docs):
    p = make_project(tmp_path / "proj", chunker=ComponentSpec(type="sentence", params={"max_tokens": 40}))
    ingest(p, [docs])
    col = p.store.col
    some = col.get(where={"doc_id": "docs/long.txt"}, include=["metadatas"], limit=1)
    meta = dict(some["metadatas"][0], doc_hash="an-older-version")
    col.update(ids=some["ids"], metadatas=[meta])
    assert not p.store.documents()["docs/long.txt"].complete
    r = ingest(Project(tmp_path / "proj"), [docs])
    assert r.updated == 1 and p.store.documents()["docs/long.txt"].complete


def test_bm25_stale_marker_makes_search_rebuild(tmp_path, docs):
    p = make_project(tmp_path / "proj")
    ingest(p, [docs])
    assert p.bm25.is_current()
    # a new chunk written straight to the store, as an interrupted ingest would leave it
    extra = write_files(tmp_path / "extra", {"z.txt": "Zulu document about zucchini."})
    p.bm25.mark_stale()
    from ragtune.documents.loaders import loader_for
    (doc,) = loader_for(extra / "z.txt").load(extra / "z.txt", "extra/z.txt")
    chunks = p.chunker.split(doc)
    p.store.upsert(chunks, p.embedder.embed([c.indexed_text for c in chunks]), {doc.doc_id: doc.content_hash})
    assert not p.bm25.is_current()

    fresh = Project(tmp_path / "proj")  # another process searching
    hits = fresh.retriever.search("zucchini", k=3, mode="bm25")
    assert [h.chunk.doc_id for h in hits] == ["extra/z.txt"]
    assert fresh.bm25.is_current() and not fresh.bm25.stale_marker.exists()


def test_ingest_repairs_a_stale_bm25_even_with_nothing_to_do(tmp_path, docs):
    p = make_project(tmp_path / "proj")
    ingest(p, [docs])
    p.bm25.mark_stale()
    r = ingest(p, [docs])
    assert r.unchanged == 3 and p.bm25.is_current()
    assert [h.chunk.doc_id for h in p.retriever.search("bananas", k=1, mode="bm25")] == ["docs/b.md"]


def test_second_writer_is_refused(tmp_path, docs):
    p = make_project(tmp_path / "proj")
    with p.lock(), pytest.raises(RagtuneError, match="another ragtune process"):
        ingest(Project(tmp_path / "proj"), [docs])


def test_changing_the_embedder_of_an_index_is_refused(tmp_path, docs):
    p = make_project(tmp_path / "proj")
    ingest(p, [docs])
    p2 = make_project(tmp_path / "proj", embedder=ComponentSpec(type="hashing", params={"dimension": 64}))
    with pytest.raises(RagtuneError, match="was built with embedder"):
        ingest(p2, [docs])


def test_prune_after_the_folder_moved(tmp_path):
    import shutil

    old = write_files(tmp_path / "old" / "docs", {"x.txt": "Xray one.", "y.txt": "Yankee two."})
    p = make_project(tmp_path / "proj")
    ingest(p, [old])
    new = tmp_path / "new" / "docs"
    new.parent.mkdir()
    shutil.move(str(old), str(new))
    moved = ingest(p, [new])
    assert moved.updated == 2 and moved.added == 0  # same ids, re-recorded under the new path
    assert p.store.count() == 2  # the move duplicates nothing
    assert {s.source for s in p.store.documents().values()} == {str(new / "x.txt"), str(new / "y.txt")}
    (new / "y.txt").unlink()
    r = ingest(p, [new], prune=True)
    assert r.removed == 1 and sorted(p.store.documents()) == ["docs/x.txt"]


def test_reserved_metadata_key_skips_that_document_only(tmp_path):
    docs = write_files(tmp_path / "docs", {"a.md": "---\ntitle: A\ndoc_hash: x\n---\nAlpha text.",
                                           "b.md": "---\ntitle: B\n---\nBravo text."})
    p = make_project(tmp_path / "proj")
    r = ingest(p, [docs])
    assert r.added == 1 and sorted(p.store.documents()) == ["docs/b.md"]
    assert len(r.problems) == 1 and "doc_hash" in str(r.problems[0]) and "a.md" in str(r.problems[0])
