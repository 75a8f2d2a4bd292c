from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ragtune.component import Component
from ragtune.embedding.protocol import EMBEDDERS, normalise
from ragtune.errors import RagtuneError


@EMBEDDERS.register("hashing")
@dataclass
class HashingEmbedder(Component):
    """Deterministic and instant: lower-cased words hashed into signed buckets. Texts sharing words
    get similar vectors, which is enough for tests and examples to retrieve sensibly."""

    dimension: int = 256
    """Vector size."""

    def __post_init__(self):
        if self.dimension < 8:
            raise RagtuneError(f"dimension must be at least 8, got {self.dimension}")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dimension] += 1.0 if (h >> 32) & 1 else -1.0
        return normalise(out)
