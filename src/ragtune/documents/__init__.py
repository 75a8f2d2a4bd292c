from ragtune.documents.types import Chunk, Document, Hit

__all__ = ["Chunk", "Document", "Hit"]
