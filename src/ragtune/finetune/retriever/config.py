"""The settings of a retriever tuning job (recorded with the job, as TuneConfig is for a generator)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ragtune.errors import RagtuneError

KINDS = ("embedder", "reranker")
BACKEND = "retriever"
"""The job store's backend name for retriever jobs (finetune.backends.retriever)."""
LEARNING_RATES = {"embedder": 5e-5, "reranker": 1e-4}
"""Each kind's peak learning rate when none is given. The embedder's, with two epochs and negatives mined
without a margin from judged queries, lifted SciFact's held-out nDCG@10 by +0.043 (sentence-transformers'
2e-5 for one epoch: +0.004). The re-ranker's scoring head starts untrained: at 2e-5 its loss stayed at a constant guess's for a
whole epoch of SciFact's train pairs; after 40 steps, 1e-4 ranked a held-aside query's positive among its mined
negatives better (MRR 0.60 against 0.52; chance 0.46). bench/README.md, "Retriever tuning"."""
BASE = "all-MiniLM-L6-v2"
"""What both models start from: the packaged sentence-transformers folder (ragtune.packaged.minilm_dir)."""


@dataclass
class RetrieverTuneConfig:
    kind: str = "embedder"
    """embedder: the bi-encoder the index is searched with; reranker: a cross-encoder over the top candidates."""
    epochs: float = 2.0
    """Passes over the training pairs (SciFact's 647 judged queries: 46 steps of 32 for the embedder)."""
    lr: float | None = None
    """Peak learning rate (none given: the kind's own, 5e-5 for the embedder, 1e-4 for the re-ranker)."""
    batch_size: int = 32
    """Pairs per step. The embedder's loss also uses every other pair of the batch as a negative, so larger helps."""
    mini_batch_size: int = 16
    """Texts the embedder embeds with gradients at once (CachedMultipleNegativesRankingLoss, GradCache): bounds
    training memory without changing the loss. Measured: batch 32 with 2 negatives embedded at once (128
    texts of up to 256 word pieces) grew to 5.5 GB and was killed for memory on a shared 23.5 GiB machine."""
    max_steps: int = -1
    """Stop after this many steps (-1: run the epochs)."""
    max_seq_len: int = 256
    """Word pieces per text (all-MiniLM-L6-v2 was trained to 256)."""
    warmup_ratio: float = 0.1
    """Share of the steps over which the learning rate rises to its peak."""
    seed: int = 0
    """Seed for shuffling and initialisation."""
    save_steps: int = 50
    """Checkpoint every this many steps (what `tune resume` restarts from)."""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise RagtuneError(f"a retriever job trains one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.mini_batch_size < 1:
            raise RagtuneError("mini_batch_size must be at least 1")
        if self.batch_size < 2:
            raise RagtuneError("batch_size must be at least 2 (the embedder's loss contrasts the pairs of a batch)")

    def for_kind(self, kind: str) -> RetrieverTuneConfig:
        """This config for one kind's job, its learning rate settled, so the job records what it trains with."""
        return dataclasses.replace(self, kind=kind, lr=self.lr if self.lr is not None else LEARNING_RATES[kind])
