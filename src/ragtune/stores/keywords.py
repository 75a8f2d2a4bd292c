"""Keyword ranking inside the engine. A store whose engine ranks chunks by keywords itself (Postgres
full-text search, Milvus's BM25 function, Qdrant sparse vectors) registers its class here under its
store name; hybrid search then asks the engine for both halves and ragtune fuses them, instead of
holding an in-process BM25 index beside a remote engine (one that every replica would have to load).
Other stores keep ragtune's BM25 (``retrieval/bm25.py``). A plugin store declares the capability
through the ``ragtune.keyword_search`` entry-point group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, cast

from ragtune.errors import RagtuneError
from ragtune.registry import Registry
from ragtune.stores.filters import Condition
from ragtune.stores.protocol import VectorStore


class KeywordSearch(Protocol):
    def keyword_query(self, query: str, k: int, where: Sequence[Condition] = ()) -> list[tuple[str, float]]:
        """Chunk ids and keyword scores (higher is better) of the top k chunks that share a word with
        ``query`` among those matching every condition (filtered before ranking), best first."""
        ...


KEYWORD_SEARCH: Registry[KeywordSearch] = Registry("keyword_search")

# BM25's constants where the engine lets ragtune choose them: bm25s's defaults, so an engine's ranking
# and ragtune's own agree
K1 = 1.5
B = 0.75


def keyword_search(store: VectorStore) -> KeywordSearch | None:
    """The store as its own keyword ranker when its class is registered as one; None when ragtune's
    BM25 ranks keywords beside it."""
    return cast(KeywordSearch, store) if type(store) in KEYWORD_SEARCH.classes().values() else None


def made_before_keywords(engine: str, collection: str) -> RagtuneError:
    """The error for a collection an engine holds from before ragtune searched keywords in that engine: its chunks
    have no keyword field, and only a copy (``store migrate``) gives them one."""
    return RagtuneError(f"{engine} collection {collection!r} was made before ragtune searched keywords in {engine}; "
                        "copy it into a new collection with `ragtune store migrate`")
