"""Embedders turn texts into unit vectors. Built-ins register by name, as plugins do."""

from ragtune.embedding import fake, onnx, openai_compat, sentence_transformers  # noqa: F401
from ragtune.embedding.protocol import EMBEDDERS, Embedder, embed_batched

__all__ = ["EMBEDDERS", "Embedder", "embed_batched"]
