"""The support check every grounded answer passes before it is shown: an answer its cited passage does not
support (or that cites nothing) is never shown as an answer. The check keeps it, replaces it with the passage
sentence that answers the question, or refuses and says why. Checkers register by name, as plugins do:
``lexical`` (the default, ``rag.support``), ``nli`` (a cross-encoder), ``llm-judge`` (an OpenAI-compatible
endpoint)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ragtune.documents.types import Hit
from ragtune.rag.citations import Citation
from ragtune.registry import Registry


class Outcome(StrEnum):
    kept = "kept"
    """A cited passage supports the answer: it is shown as the model wrote it."""
    replaced = "replaced"
    """Shown instead: the passage sentence that answers the question, cited."""
    refused = "refused"
    """No passage supports an answer: a refusal is shown, with the reason."""


@dataclass(frozen=True)
class SupportVerdict:
    outcome: Outcome
    reason: str = ""
    """Why the model's answer was not kept; empty when it was."""
    citations: tuple[Citation, ...] = ()
    """Kept: the citations that stand. Replaced: the supporting sentence's passage."""
    sentence: str = ""
    """Replaced: the supporting sentence, verbatim from its passage."""
    answer: str = ""
    """Replaced: what the sentence answers, shown in its place when it is not the sentence itself (the yes or no a
    sentence stating a yes/no question's claim gives)."""

    @property
    def shown(self) -> str:
        """The replacement as it is shown: the sentence (or its answer) and its citation."""
        return f"{self.answer or self.sentence} [{self.citations[0].n}]"


class SupportChecker(Protocol):
    def check(self, question: str, answer: str, passages: Sequence[Hit]) -> SupportVerdict:
        """Whether the passages ``answer`` cites (numbered from 1, as the prompt numbered ``passages``)
        support it, and what is shown when they do not."""
        ...


CHECKERS: Registry[SupportChecker] = Registry("checker")
