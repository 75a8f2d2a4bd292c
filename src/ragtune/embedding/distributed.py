"""Embedding a large corpus across processes (or machines) with Ray Data: each worker is a Ray actor
that builds the embedder from its spec once and embeds whole batches; ``ray.init`` with an address
joins an existing cluster instead of starting a local one (pip install 'ragtune[ray]')."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ragtune.errors import RagtuneError


class _EmbedBatches:
    """A Ray Data actor: the embedder is loaded once per worker process, not once per batch."""

    def __init__(self, spec: dict):
        from ragtune.embedding import EMBEDDERS

        self.embedder = EMBEDDERS.from_dict(spec)

    def __call__(self, batch: dict) -> dict:
        return {"i": batch["i"], "vector": self.embedder.embed(list(batch["text"]))}


def embed_distributed(texts: Sequence[str], spec: dict, workers: int = 2, batch_size: int = 256,
                      address: str | None = None) -> np.ndarray:
    """Vectors for ``texts``, in their order, from ``workers`` Ray actors each running the embedder
    ``spec`` ({"type": ..., "params": ...}, as in the project config) on one CPU."""
    try:
        import ray
    except ImportError as e:
        raise RagtuneError("distributed embedding needs Ray: pip install 'ragtune[ray]'") from e
    if workers < 1:
        raise RagtuneError(f"workers must be at least 1, got {workers}")
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    if not ray.is_initialized():
        ray.init(address=address, num_cpus=None if address else workers, include_dashboard=False,
                 log_to_driver=False)
    data = ray.data.from_items([{"i": i, "text": t} for i, t in enumerate(texts)])
    vectors = data.map_batches(_EmbedBatches, fn_constructor_args=(spec,), batch_size=batch_size,
                               concurrency=workers, num_cpus=1, batch_format="numpy")
    out: np.ndarray | None = None
    for batch in vectors.iter_batches(batch_format="numpy", batch_size=None):
        if out is None:
            out = np.zeros((len(texts), batch["vector"].shape[1]), dtype=np.float32)
        out[batch["i"]] = batch["vector"]  # Ray Data may finish batches out of order: place them by index
    assert out is not None  # texts is not empty, so a batch came back
    return out
