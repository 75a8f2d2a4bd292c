"""Chunkers split a document into pieces that fit the embedder's token limit."""

from ragtune.chunking import fixed, sentence, token  # noqa: F401  (registers them)
from ragtune.chunking.protocol import CHUNKERS, Chunker

__all__ = ["CHUNKERS", "Chunker"]
