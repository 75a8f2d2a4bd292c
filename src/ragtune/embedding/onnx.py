from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ragtune.component import Component
from ragtune.embedding.onnx_quantize import dynamic_int8
from ragtune.embedding.protocol import EMBEDDERS, normalise
from ragtune.errors import RagtuneError


@EMBEDDERS.register("onnx")
@dataclass
class OnnxEmbedder(Component):
    """A BERT-style encoder exported to ONNX, mean-pooled like sentence-transformers does.

    By default the packaged int8 all-MiniLM-L6-v2 with the fp32 package's tokenizer, re-quantised
    once for int8 compute (embedding/onnx_quantize.py). Texts are sorted by length before batching
    so little time goes on padding."""

    model: str = ""
    """ONNX file; empty means the packaged int8 all-MiniLM-L6-v2."""
    tokenizer: str = ""
    """tokenizer.json; empty means the packaged all-MiniLM-L6-v2 tokenizer."""
    max_tokens: int = 256
    """Input is truncated here (all-MiniLM-L6-v2 was trained to 256 word pieces)."""
    batch_size: int = 32
    """Texts per forward pass."""
    quantize: str = "dynamic-int8"
    """dynamic-int8: build (once, cached) an int8-compute version of the model; none: run the file as is."""
    threads: int = 0
    """Batches run side by side, one core each; 0 means one per CPU core. Measured here: whole batches
    in parallel keep both cores busy, where one batch over two intra-op threads left one idle half the time."""
    dimension: int = 384
    """Vector size of the model."""
    _session: Any = field(default=None, init=False, repr=False)
    _tok: Any = field(default=None, init=False, repr=False)
    _pool: Any = field(default=None, init=False, repr=False)

    def __post_init__(self):
        if self.quantize not in ("dynamic-int8", "none"):
            raise RagtuneError(f"quantize must be 'dynamic-int8' or 'none', got {self.quantize!r}")

    def warm_up(self) -> None:
        if self._session is None:
            import onnxruntime as ort
            from tokenizers import Tokenizer

            from ragtune.packaged import minilm_dir, minilm_int8_onnx

            tok = Tokenizer.from_file(self.tokenizer or str(minilm_dir() / "tokenizer.json"))
            tok.enable_truncation(self.max_tokens)
            tok.enable_padding()
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            path = Path(self.model) if self.model else minilm_int8_onnx()
            if not path.is_file():
                raise RagtuneError(f"ONNX model {path} does not exist")
            if self.quantize == "dynamic-int8":
                path = dynamic_int8(path, hidden_size=self.dimension)
            self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            self._inputs = {i.name for i in self._session.get_inputs()}
            self._tok = tok

    def _batch(self, texts: list[str]) -> np.ndarray:
        enc = self._tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        m = mask[..., None].astype(np.float32)
        return (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.warm_up()
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        workers = min(len(batches), self.threads or os.cpu_count() or 1)
        if workers <= 1:
            for idx in batches:
                out[idx] = self._batch([texts[i] for i in idx])
        else:  # onnxruntime releases the GIL in run(), and one session may serve several threads
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads or os.cpu_count() or 1)
            for idx, vectors in zip(batches, self._pool.map(lambda b: self._batch([texts[i] for i in b]), batches), strict=True):
                out[idx] = vectors
        return normalise(out)
