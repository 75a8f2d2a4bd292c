"""Deterministic, reproducible judgments of one answer against its retrieved context. No judge
model: the same answer and passages always get the same verdict.

* supported: every quote the answer makes is a verbatim piece of a passage, and at least
  ``SUPPORTED`` of the final answer's content words (stemmed, stop words and yes/no removed) occur in
  the passages. An answer with no checkable content (a bare yes/no without a quote) is not judged.
* citation correct: the same test, restricted to the passages the answer cites."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ragtune.documents.types import Hit
from ragtune.rag.citations import missing_terms, strip_markers
from ragtune.rag.prompts import final_answer
from ragtune.raft.format import quotes

SUPPORTED = 0.8
_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def _squash(text: str) -> str:
    return " ".join(text.lower().split())


def supported(answer_text: str, hits: Sequence[Hit]) -> bool | None:
    if not hits:
        return None
    passages = [_squash(h.chunk.indexed_text) for h in hits]
    quoted = quotes(answer_text)
    if any(not any(_squash(q) in p for p in passages) for q in quoted):
        return False
    claim = _YES_NO.sub(" ", strip_markers(final_answer(answer_text)))
    coverage, missing = missing_terms(claim, hits)
    if coverage == 0.0 and not missing:  # nothing to check in the claim itself
        return True if quoted else None
    return coverage >= SUPPORTED


def citation_correct(answer_text: str, cited: Sequence[int], hits: Sequence[Hit]) -> bool | None:
    """None when the answer cites nothing (explicitly)."""
    chosen = [hits[n - 1] for n in cited if 1 <= n <= len(hits)]
    if not chosen:
        return None
    return bool(supported(answer_text, chosen))
