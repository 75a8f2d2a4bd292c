from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ragtune.component import Component
from ragtune.embedding.protocol import EMBEDDERS


@EMBEDDERS.register("sentence-transformers")
@dataclass
class SentenceTransformerEmbedder(Component):
    """Any sentence-transformers model folder; by default the packaged all-MiniLM-L6-v2 (fp32)."""

    model: str = ""
    """Model folder or hub name; empty means the packaged all-MiniLM-L6-v2."""
    batch_size: int = 32
    """Texts per forward pass."""
    dimension: int = 384
    """Vector size of the model."""
    _model: Any = field(default=None, init=False, repr=False)

    def warm_up(self) -> None:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            from ragtune.packaged import minilm_dir

            self._model = SentenceTransformer(self.model or str(minilm_dir()), device="cpu")
            self.dimension = self._model.get_embedding_dimension()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.warm_up()
        return self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False).astype(np.float32)
