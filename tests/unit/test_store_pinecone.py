"""Pinecone cannot be reached from here. These tests check what can be checked offline: the filter
translation (hand-written expected dicts) and the requests the official SDK sends for each store call,
captured by a loopback HTTP server that answers in Pinecone's documented response shapes."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import numpy as np
import pytest

from ragtune.documents.types import Chunk
from ragtune.errors import RagtuneError
from ragtune.stores.filters import parse_filters

pytest.importorskip("pinecone")
from ragtune.stores.pinecone import PineconeStore, to_filter


def test_filter_translation():
    assert to_filter([]) is None
    assert to_filter(parse_filters(["category=billing"])) == {"category": {"$eq": "billing"}}
    assert to_filter(parse_filters(["year>=2024"])) == {"year": {"$gte": 2024}}
    assert to_filter(parse_filters(["updated<2024-02-01"])) == {"updated__date": {"$lt": 20240201}}
    assert to_filter(parse_filters(["tag in a,b"])) == {"$or": [{"tag": {"$eq": "a"}}, {"tag": {"$eq": "b"}}]}
    # != keeps chunks without the key, as the embedded default does; "4.0" also matches the text "4.0"
    assert to_filter(parse_filters(["version!=4.0"])) == {"$or": [
        {"version": {"$exists": False}},
        {"$and": [{"version": {"$ne": 4.0}}, {"version": {"$ne": "4.0"}}]}]}
    assert to_filter(parse_filters(["a=x", "b<3"])) == {"$and": [{"a": {"$eq": "x"}}, {"b": {"$lt": 3}}]}


def test_needs_an_index_and_a_key(monkeypatch):
    with pytest.raises(RagtuneError, match="index name or host"):
        PineconeStore().count()
    monkeypatch.delenv("PINECONE_API_KEY", raising=False)
    with pytest.raises(RagtuneError, match="set PINECONE_API_KEY"):
        PineconeStore(index="kb").count()


class Capture(BaseHTTPRequestHandler):
    replies: ClassVar[dict] = {}
    seen: ClassVar[list] = []

    def _answer(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append((self.command, self.path, json.loads(body) if body else None,
                          self.headers.get("Api-Key")))
        reply = json.dumps(self.replies.get(self.path.split("?")[0], {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_POST = do_GET = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def pinecone_host(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Capture.seen.clear()
    monkeypatch.setenv("PINECONE_API_KEY", "test-key")
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_requests_the_sdk_sends(pinecone_host):
    Capture.replies = {
        "/vectors/upsert": {"upsertedCount": 2},
        "/query": {"matches": [{"id": "a#1", "score": 0.75}, {"id": "a#0", "score": 0.5}], "namespace": "kb"},
        "/vectors/fetch": {"vectors": {"a#0": {"id": "a#0", "values": [1.0, 0.0], "metadata": {
            "doc_id": "a", "doc_hash": "h1", "doc_chunks": 2, "chunk_index": 0, "title": "A",
            "lang": "en", "_text": "first"}}}, "namespace": "kb"},
        "/vectors/fetch_by_metadata": {"vectors": {"a#1": {"id": "a#1", "values": [0.0, 1.0], "metadata": {
            "doc_id": "a", "doc_hash": "h1", "doc_chunks": 2.0, "chunk_index": 1.0, "title": "A", "_text": "second"}}},
            "namespace": "kb", "pagination": None},
    }
    store = PineconeStore(host=pinecone_host, namespace="kb")
    chunks = [Chunk("a#0", "a", 0, "first", "A", {"lang": "en", "day": "2024-03-05"}), Chunk("a#1", "a", 1, "second", "A")]
    store.upsert(chunks, np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32), {"a": "h1"})
    assert store.query(np.array([0.6, 0.8]), 2, parse_filters(["lang=en"])) == [("a#1", 0.75), ("a#0", 0.5)]
    (got,) = store.get(["a#0"])
    assert (got.text, got.title, got.metadata) == ("first", "A", {"lang": "en"})
    assert store.documents()["a"].content_hash == "h1"
    store.delete(["a"])

    (method, path, upsert, key), query, fetch, by_meta, delete = Capture.seen
    assert (method, path, key) == ("POST", "/vectors/upsert", "test-key")
    assert upsert == {"namespace": "kb", "vectors": [
        {"id": "a#0", "values": [1.0, 0.0], "metadata": {"lang": "en", "day": "2024-03-05", "day__date": 20240305,
                                                          "doc_id": "a", "doc_hash": "h1", "doc_chunks": 2,
                                                          "chunk_index": 0, "title": "A", "_text": "first"}},
        {"id": "a#1", "values": [0.0, 1.0], "metadata": {"doc_id": "a", "doc_hash": "h1", "doc_chunks": 2,
                                                          "chunk_index": 1, "title": "A", "_text": "second"}}]}
    assert query[1] == "/query"
    assert query[2]["topK"] == 2 and query[2]["namespace"] == "kb" and query[2]["filter"] == {"lang": {"$eq": "en"}}
    assert query[2]["vector"] == pytest.approx([0.6, 0.8])
    assert fetch[1].startswith("/vectors/fetch") and "ids=a%230" in fetch[1]
    assert by_meta[1:3] == ("/vectors/fetch_by_metadata",
                            {"filter": {"doc_id": {"$exists": True}}, "namespace": "kb", "limit": 1000})
    assert delete[1:3] == ("/vectors/delete", {"filter": {"doc_id": {"$in": ["a"]}}, "namespace": "kb"})
