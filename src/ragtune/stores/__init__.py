"""Vector stores behind one narrow protocol; the embedded default persists in the project folder."""

# each backend imports its client library only when first used, so registering them all is cheap
from ragtune.stores import chroma, milvus, pgvector, pinecone, qdrant  # noqa: F401  (registers them)
from ragtune.stores.filters import Condition, parse_filters
from ragtune.stores.protocol import STORES, DocState, VectorStore

__all__ = ["STORES", "Condition", "DocState", "VectorStore", "parse_filters"]
