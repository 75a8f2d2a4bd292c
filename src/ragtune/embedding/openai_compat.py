from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ragtune.embedding.protocol import EMBEDDERS, normalise
from ragtune.openai_endpoint import OpenAIEndpoint


@EMBEDDERS.register("openai")
@dataclass
class OpenAIEmbedder(OpenAIEndpoint):
    """Any OpenAI-compatible /v1/embeddings endpoint, through the official client."""

    model: str = "text-embedding-3-small"
    """Model name the endpoint knows."""
    dimension: int = 1536
    """Vector size the endpoint returns."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        try:
            resp = self.client.embeddings.create(model=self.model, input=list(texts))
        except Exception as e:  # the SDK's errors all say what the server answered
            raise self.error("embedding", e) from e
        vectors = normalise(np.array([d.embedding for d in resp.data], dtype=np.float32))
        self.dimension = vectors.shape[1]
        return vectors
