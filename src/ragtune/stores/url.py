"""One URL names a store: ``ragtune store migrate --to URL`` and ``ragtune store use URL`` (which writes
the store into the project's config) both go through here, so moving to a server is a changed URL,
not changed code.

    chroma:///abs/folder  chroma://rel/folder      embedded Chroma (relative to the project folder)
    chroma+http://host:8000                        a Chroma server (chroma run)
    qdrant:///abs/folder  qdrant+http://host:6333  Qdrant local mode, or a server / cluster
    milvus:///abs/x.db    milvus+http://host:19530 Milvus Lite file, or a server / cluster
    pgvector:///abs/pgdata  postgresql://user@host/db   embedded Postgres (pgserver), or a server
    pinecone://INDEX-NAME  pinecone+https://INDEX-HOST   a Pinecone index (key in PINECONE_API_KEY)

``?collection=NAME`` (``?table=`` for Postgres, ``?namespace=`` for Pinecone) picks where in the
engine the chunks go; the URL's other query parameters become store parameters, e.g. ``?shards=2``."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit, urlunsplit

from ragtune.config import ComponentSpec
from ragtune.errors import RagtuneError

_LOCAL_PARAM = {"chroma": "path", "qdrant": "path", "milvus": "uri", "pgvector": "path"}
_SERVER_PARAM = {"chroma": "url", "qdrant": "url", "milvus": "uri", "pinecone": "host"}
_INT_PARAMS = {"shards", "replicas", "batch_size"}


def parse_store_url(url: str) -> ComponentSpec:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    params: dict = {k: int(v) if k in _INT_PARAMS else v for k, v in parse_qsl(parts.query)}
    if scheme in ("postgresql", "postgres"):
        return ComponentSpec(type="pgvector", params={"dsn": urlunsplit(parts._replace(query="")), **params})
    engine, _, transport = scheme.partition("+")
    if engine not in _LOCAL_PARAM and engine not in _SERVER_PARAM:
        raise RagtuneError(f"unknown store URL {url!r}; use chroma://, qdrant://, milvus://, pgvector://, "
                           "postgresql:// or pinecone:// (add +http or +https for a server)")
    if transport:
        if transport not in ("http", "https") or engine not in _SERVER_PARAM or not parts.netloc:
            raise RagtuneError(f"store URL {url!r}: expected {engine}+http://host:port or {engine}+https://host")
        server = urlunsplit((transport, parts.netloc, parts.path.rstrip("/"), "", ""))
        return ComponentSpec(type=engine, params={_SERVER_PARAM[engine]: server, **params})
    if engine == "pinecone":
        if not parts.netloc:
            raise RagtuneError(f"store URL {url!r}: expected pinecone://INDEX-NAME")
        return ComponentSpec(type="pinecone", params={"index": parts.netloc, **params})
    path = parts.netloc + parts.path  # chroma:///abs -> "/abs"; chroma://rel/x -> "rel/x"
    if not path:
        raise RagtuneError(f"store URL {url!r} names no folder or file")
    return ComponentSpec(type=engine, params={_LOCAL_PARAM[engine]: path, **params})


def store_from_url(url: str, root):
    """The store a URL names, with folders resolved against the project folder ``root``."""
    from ragtune.stores.protocol import STORES

    spec = parse_store_url(url)
    try:
        store = STORES.from_dict(spec.model_dump())
    except TypeError as e:  # a query parameter the store does not take
        raise RagtuneError(f"store URL {url!r}: {e}") from e
    return store.bind(root)
