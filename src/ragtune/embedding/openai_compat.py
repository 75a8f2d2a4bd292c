from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ragtune.component import Component
from ragtune.embedding.protocol import EMBEDDERS, normalise
from ragtune.errors import RagtuneError


@EMBEDDERS.register("openai")
@dataclass
class OpenAIEmbedder(Component):
    """Any OpenAI-compatible /v1/embeddings endpoint, through the official client."""

    model: str = "text-embedding-3-small"
    """Model name the endpoint knows."""
    base_url: str = ""
    """Endpoint base URL, e.g. http://127.0.0.1:8080/v1; empty means OPENAI_BASE_URL or OpenAI."""
    api_key_env: str = "OPENAI_API_KEY"
    """Environment variable holding the key (the key itself is never saved in config)."""
    dimension: int = 1536
    """Vector size the endpoint returns."""
    _client: Any = field(default=None, init=False, repr=False)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._client is None:
            from openai import OpenAI

            self._client = OpenAI(base_url=self.base_url or None,
                                  api_key=os.environ.get(self.api_key_env) or "not-needed")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        try:
            resp = self._client.embeddings.create(model=self.model, input=list(texts))
        except Exception as e:  # the SDK's errors all say what the server answered
            raise RagtuneError(f"embedding endpoint {self.base_url or 'default'} failed: {e}") from e
        vectors = normalise(np.array([d.embedding for d in resp.data], dtype=np.float32))
        self.dimension = vectors.shape[1]
        return vectors
