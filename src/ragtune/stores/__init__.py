"""Vector stores behind one narrow protocol; the embedded default persists in the project folder."""

from ragtune.stores import chroma  # noqa: F401  (registers it)
from ragtune.stores.filters import Condition, parse_filters
from ragtune.stores.protocol import STORES, DocState, VectorStore

__all__ = ["STORES", "Condition", "DocState", "VectorStore", "parse_filters"]
