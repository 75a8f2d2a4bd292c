"""Whether passages support an answer. Deterministic, no judge model: ``ask``, the server and the
bake-off give the same verdict on the same answer and passages.

* supported: every quote the answer makes is a verbatim piece of a passage, every number in the final
  answer occurs in the passages (one wrong number is the whole claim), and at least ``SUPPORTED`` of its
  content words (stemmed, stop words and yes/no removed) occur in them. An answer with no checkable
  content (a bare yes/no without a quote) is not judged (None).
* grounded: an answer counts only with a cited passage that supports it. A citation the model wrote is
  kept even when its passage does not support the answer (the reason says so); one inferred from word
  overlap, for a small model that answered without citing, counts only when its passage supports it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ragtune.documents.types import Hit
from ragtune.rag.citations import Citation, missing_terms, resolve, strip_markers
from ragtune.rag.prompts import final_answer, quotes

SUPPORTED = 0.8
_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def _squash(text: str) -> str:
    return " ".join(text.lower().split())


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}  # 1,000 and 1000 are one number


def _verdict(answer_text: str, hits: Sequence[Hit]) -> tuple[bool | None, str]:
    """The judgment and, when it fails, what the passages lack."""
    if not hits:
        return None, "no passage to check it against"
    passages = [_squash(h.chunk.indexed_text) for h in hits]
    quoted = quotes(answer_text)
    misquoted = [q for q in quoted if not any(_squash(q) in p for p in passages)]
    if misquoted:
        return False, f"its quote is not in the passage: {misquoted[0]!r}"
    claim = _YES_NO.sub(" ", strip_markers(final_answer(answer_text)))
    absent = sorted(_numbers(claim) - _numbers(" ".join(passages)))
    if absent:
        return False, f"the passage does not hold the number {', '.join(absent)}"
    coverage, missing = missing_terms(claim, hits)
    if coverage == 0.0 and not missing:  # nothing to check in the claim itself
        return (True, "") if quoted else (None, "")
    if coverage < SUPPORTED:
        return False, f"the passage never mentions: {', '.join(missing)}"
    return True, ""


def supported(answer_text: str, hits: Sequence[Hit]) -> bool | None:
    return _verdict(answer_text, hits)[0]


@dataclass(frozen=True)
class Grounding:
    citations: list[Citation]
    """The citations that stand: those the model wrote, or one inferred passage that supports the answer."""
    reason: str
    """Why no cited passage supports the answer; empty when one does."""


def ground(answer_text: str, hits: Sequence[Hit]) -> Grounding:
    """The answer's citations resolved to ``hits``, and whether the cited passages support it. An answer
    with nothing checkable (a bare yes/no) is grounded by any citation it makes."""
    citations = resolve(answer_text, hits)
    if not citations:
        return Grounding([], "it cites no passage, and no passage holds its words")
    verdict, why = _verdict(answer_text, [hits[c.n - 1] for c in citations])
    if verdict is not False:
        return Grounding(citations, "")
    if all(c.inferred for c in citations):
        return Grounding([], f"it cites no passage, and the closest one does not support it: {why}")
    cited = ", ".join(f"[{c.n}]" for c in citations)
    return Grounding(citations, f"the cited passage {cited} does not support it: {why}")
