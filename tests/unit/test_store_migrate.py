"""`ragtune store migrate --to URL`: copies the index to every backend without re-embedding, proves
the copy, and refuses what would lose or mix data. Also the store URL syntax."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from backend_fixtures import backend, chroma_server, postgres  # noqa: F401  (fixtures)
from conftest import CORPUS, make_project, write_files
from ragtune.cli.app import app
from ragtune.config import ComponentSpec
from ragtune.errors import RagtuneError
from ragtune.project import Project
from ragtune.rag.ingest import ingest
from ragtune.stores.migrate import fingerprint, migrate
from ragtune.stores.url import parse_store_url, store_from_url

runner = CliRunner()


@pytest.mark.parametrize("url, spec", [
    ("chroma:///abs/idx", ("chroma", {"path": "/abs/idx"})),
    ("chroma://rel/idx?collection=kb", ("chroma", {"path": "rel/idx", "collection": "kb"})),
    ("chroma+http://10.0.0.5:8000", ("chroma", {"url": "http://10.0.0.5:8000"})),
    ("qdrant:///data/q", ("qdrant", {"path": "/data/q"})),
    ("qdrant+https://q.example.com:6333?shards=4&replicas=2",
     ("qdrant", {"url": "https://q.example.com:6333", "shards": 4, "replicas": 2})),
    ("milvus:///data/x.db", ("milvus", {"uri": "/data/x.db"})),
    ("milvus+http://milvus:19530?collection=c2", ("milvus", {"uri": "http://milvus:19530", "collection": "c2"})),
    ("pgvector:///var/pg", ("pgvector", {"path": "/var/pg"})),
    ("postgresql://rt@db:5432/rag?table=kb", ("pgvector", {"dsn": "postgresql://rt@db:5432/rag", "table": "kb"})),
    ("pinecone://my-index?namespace=prod", ("pinecone", {"index": "my-index", "namespace": "prod"})),
    ("pinecone+https://my-index-x1.svc.pinecone.io", ("pinecone", {"host": "https://my-index-x1.svc.pinecone.io"})),
])
def test_store_urls(url, spec):
    assert parse_store_url(url) == ComponentSpec(type=spec[0], params=spec[1])


@pytest.mark.parametrize("url, message", [
    ("redis://x", "unknown store URL"), ("/plain/path", "unknown store URL"), ("qdrant+ftp://h", r"expected qdrant\+http"),
    ("pgvector+http://h", r"expected pgvector\+http"), ("milvus://", "names no folder"), ("pinecone://", "INDEX-NAME"),
])
def test_bad_store_urls(url, message):
    with pytest.raises(RagtuneError, match=message):
        parse_store_url(url)


def test_unknown_url_parameter_is_a_clear_error(tmp_path):
    with pytest.raises(RagtuneError, match="unexpected keyword argument 'colection'"):
        store_from_url("qdrant:///x?colection=a", tmp_path)


@pytest.fixture
def source(tmp_path):
    long = " ".join(f"Sentence {i} of the long one." for i in range(300))
    docs = write_files(tmp_path / "docs", {**CORPUS, "kb/long.txt": long})
    p = make_project(tmp_path / "src")
    ingest(p, [docs / "kb"])
    return p, docs


def test_migrate_copies_vectors_to_every_backend(tmp_path, source, backend):  # noqa: F811  (the imported fixture)
    src, docs = source
    target = make_project(tmp_path / "dst", store=backend)
    # small pages split the long document across writes: its chunk count must still come out whole
    report = migrate(src.store, target.store, batch_size=3)
    n = src.store.count()
    assert n > len(CORPUS) + 1 and report.chunks == n == target.store.count() and report.verified
    assert report.documents == len(CORPUS) + 1 and all(s.complete for s in target.store.documents().values())
    assert fingerprint(target.store).checksum == report.checksum == fingerprint(src.store).checksum
    # same search results; and an ingest into the copy finds nothing to re-embed
    q = src.embedder.embed(["refunds to the original card"])[0]
    assert [i for i, _ in target.store.query(q, 4)] == [i for i, _ in src.store.query(q, 4)]
    again = ingest(target, [docs / "kb"])
    assert (again.unchanged, again.added, again.updated) == (len(CORPUS) + 1, 0, 0)


def test_migrate_refuses_a_non_empty_target_and_a_half_written_source(tmp_path, source):
    src, _ = source
    other = make_project(tmp_path / "other", store=ComponentSpec(type="qdrant"))
    migrate(src.store, other.store)
    with pytest.raises(RagtuneError, match="already holds"):
        migrate(src.store, other.store)
    chunk = src.store.get(["kb/long.txt#1"])[0]
    src.store.col.delete(ids=[chunk.chunk_id])  # as an interrupted ingest leaves it
    with pytest.raises(RagtuneError, match="half-written"):
        migrate(src.store, make_project(tmp_path / "third", store=ComponentSpec(type="qdrant")).store)


def test_fingerprint_notices_a_changed_vector_or_a_swap(tmp_path, source):
    src, _ = source
    dst = make_project(tmp_path / "dst", store=ComponentSpec(type="qdrant")).store
    migrate(src.store, dst)
    base = fingerprint(src.store)
    assert base.mismatch(fingerprint(dst)) is None
    a, b = dst.get(["kb/sso.md#0", "kb/export.md#0"])
    va, vb = src.embedder.embed([a.indexed_text, b.indexed_text])
    hashes = {d: s.content_hash for d, s in dst.documents().items()}
    dst.upsert([a, b], np.stack([vb, va]), hashes)  # the two vectors swapped between ids
    assert "vectors differ" in base.mismatch(fingerprint(dst))
    dst.upsert([a, b], np.stack([va, vb]), hashes)
    assert base.mismatch(fingerprint(dst)) is None
    dst.upsert([a], va[None, :], {a.doc_id: "other-hash"})
    assert "record checksums" in base.mismatch(fingerprint(dst))


def test_cli_migrate_and_use(tmp_path, source):
    src, _ = source
    n = src.store.count()
    r = runner.invoke(app, ["store", "migrate", "--to", "milvus://copy.db", "--use", "-p", str(src.root), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["chunks"] == n and data["verified"] and data["switched"]
    p = Project(src.root)
    assert p.config.store == ComponentSpec(type="milvus", params={"uri": "copy.db"})
    assert (src.root / "copy.db").exists() and p.store.count() == n
    assert p.retriever.search("webhooks retry failed deliveries", k=1)[0].chunk.doc_id == "kb/webhooks.md"
    r = runner.invoke(app, ["store", "info", "-p", str(src.root), "--json"])
    assert json.loads(r.stdout)["chunks"] == n and json.loads(r.stdout)["incomplete"] == 0
    r = runner.invoke(app, ["store", "use", "chroma://store", "-p", str(src.root), "--json"])
    assert json.loads(r.stdout)["chunks"] == n  # back on the original, untouched
    assert Project(src.root).config.store == ComponentSpec(type="chroma", params={"path": "store"})


def test_cli_migrate_into_a_non_empty_store_is_exit_2(tmp_path, source, monkeypatch, capsys):
    from conftest import run_main

    src, _ = source
    assert run_main(monkeypatch, capsys, "store", "migrate", "--to", "qdrant://q", "-p", src.root)[0] == 0
    code, _, err = run_main(monkeypatch, capsys, "store", "migrate", "--to", "qdrant://q", "-p", src.root)
    assert code == 2 and "already holds" in err
