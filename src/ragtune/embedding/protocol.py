"""The embedder contract: one required method. Batching and progress are derived from it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from ragtune.registry import Registry


class Embedder(Protocol):
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        ...

    def warm_up(self) -> None:
        """Load the model now rather than on the first ``embed`` (idempotent)."""
        ...

    def to_dict(self) -> dict[str, Any]: ...


EMBEDDERS: Registry[Embedder] = Registry("embedder")


def embed_batched(embedder: Embedder, texts: Sequence[str], batch_size: int = 256,
                  progress: Callable[[int], None] | None = None) -> np.ndarray:
    out = []
    for i in range(0, len(texts), batch_size):
        out.append(embedder.embed(texts[i:i + batch_size]))
        if progress:
            progress(len(out[-1]))
    return np.vstack(out) if out else np.zeros((0, embedder.dimension), dtype=np.float32)


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
