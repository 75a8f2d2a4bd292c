"""Deterministic, reproducible judgments of one answer against its retrieved context. No judge
model: the same answer and passages always get the same verdict.

* supported: ``rag.support.supported``, the check ``ask`` and the server ground their answers with
  (verbatim quotes, every number, and most content words found in the passages).
* citation correct: the same test, restricted to the passages the answer cites."""

from __future__ import annotations

from collections.abc import Sequence

from ragtune.documents.types import Hit
from ragtune.rag.support import supported

__all__ = ["citation_correct", "supported"]


def citation_correct(answer_text: str, cited: Sequence[int], hits: Sequence[Hit], question: str) -> bool | None:
    """None when the answer cites nothing (explicitly)."""
    chosen = [hits[n - 1] for n in cited if 1 <= n <= len(hits)]
    if not chosen:
        return None
    return bool(supported(answer_text, chosen, question))
