"""Whether passages support an answer. Deterministic, no judge model: ``ask``, the server and the
bake-off give the same verdict on the same answer and passages.

* supported: every quote the answer makes is a verbatim piece of a passage, every number in the final
  answer occurs in the passages (one wrong number is the whole claim), and at least ``SUPPORTED`` of its
  content words (stemmed, stop words and yes/no removed) occur in them. An answer with no checkable
  content (a bare yes/no without a quote) is not judged (None).
* grounded: an answer counts only with a cited passage that supports it. A citation the model wrote is
  kept even when its passage does not support the answer (the reason says so); one inferred from word
  overlap, for a small model that answered without citing, counts only when its passage supports it.
* the supporting sentence: shown in place of an answer that is not grounded, when one passage sentence
  clearly answers the question (``LexicalChecker``, the default support check)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ragtune.chunking.sentence import SentenceChunker
from ragtune.component import Component
from ragtune.documents.types import Hit
from ragtune.rag.check import CHECKERS, Outcome, SupportVerdict
from ragtune.rag.citations import Citation, citation, missing_terms, resolve, stemmed, strip_markers
from ragtune.rag.prompts import final_answer, quotes

SUPPORTED = 0.8
_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.IGNORECASE)
_PREAMBLE = re.compile(r"\b(?:the\s+)?answer\s+is\b", re.IGNORECASE)  # "The answer is: 9" claims only 9


def _squash(text: str) -> str:
    return " ".join(text.lower().split())


def _numbers(text: str) -> set[str]:
    """1,000 and 1000 are one number, and "nine" is 9 (a passage and an answer often spell small ones
    differently)."""
    spelled = {str(_WORDS.index(w.lower())) for w in _NUMBER_WORD.findall(text)}
    return {n.replace(",", "") for n in _NUMBER.findall(text)} | spelled


def _failure(answer_text: str, hits: Sequence[Hit], question: str) -> str | None:
    """Why ``hits`` do not support the answer: "" when they do, None when there is nothing to judge. Words
    and numbers the question states are not claims: an answer may restate its question."""
    if not hits:
        return None
    passages = [_squash(h.chunk.indexed_text) for h in hits]
    quoted = quotes(answer_text)
    misquoted = [q for q in quoted if not any(_squash(q) in p for p in passages)]
    if misquoted:
        return f"its quote is not in the passage: {misquoted[0]!r}"
    claim = _YES_NO.sub(" ", _PREAMBLE.sub(" ", strip_markers(final_answer(answer_text))))
    numbers = _numbers(claim) - _numbers(question)
    absent = sorted(numbers - set().union(*map(_numbers, passages)))
    if absent:
        return f"the passage does not hold: {', '.join(absent)}"
    words = _NUMBER.sub(" ", _NUMBER_WORD.sub(" ", claim))  # numbers: checked above
    coverage, missing = missing_terms(words, hits, given=question)
    if coverage == 0.0 and not missing:  # no words to check beyond the numbers and quotes
        return "" if quoted or numbers else None
    return "" if coverage >= SUPPORTED else f"the passage never mentions: {', '.join(missing)}"


def supported(answer_text: str, hits: Sequence[Hit], question: str) -> bool | None:
    failure = _failure(answer_text, hits, question)
    return None if failure is None else not failure


@dataclass(frozen=True)
class Grounding:
    citations: list[Citation]
    """The citations that stand: those the model wrote, or one inferred passage that supports the answer."""
    reason: str
    """Why no cited passage supports the answer; empty when one does."""


def ground(answer_text: str, hits: Sequence[Hit], question: str) -> Grounding:
    """The answer's citations resolved to ``hits``, and whether the cited passages support it. An answer
    with nothing checkable (a bare yes/no) is grounded by any citation it makes."""
    citations = resolve(answer_text, hits)
    if not citations:
        return Grounding([], "it cites no passage, and no passage holds its words")
    why = _failure(answer_text, [hits[c.n - 1] for c in citations], question)
    if not why:  # supported, or nothing checkable (a bare yes/no): the citation is all it can have
        return Grounding(citations, "")
    if all(c.inferred for c in citations):
        return Grounding([], f"it cites no passage, and the closest one does not support it: {why}")
    cited = ", ".join(f"[{c.n}]" for c in citations)
    return Grounding(citations, f"the cited passage {cited} does not support it: {why}")


_SPLITTER = SentenceChunker()


def passage_sentences(text: str) -> list[str]:
    """The sentences of a passage, never across a line break: a line of a document (a list item, a heading, a
    line an injection put there) is never merged into a sentence shown as an answer."""
    return [s for line in text.splitlines() for s in _SPLITTER.sentences(line)]


def supporting_sentence(question: str, hits: Sequence[Hit], clear: float) -> tuple[int, str] | None:
    """(passage number, sentence): the passage sentence that answers ``question``, when one clearly does. It
    holds at least ``clear`` of the question's content words (stemmed), more than any other sentence does, and
    words of its own besides (an answer, not the question restated). A sentence two overlapping passages
    share counts once, from the first."""
    asked = stemmed(question)
    if not asked:
        return None
    found: dict[str, tuple[float, int]] = {}
    for n, h in enumerate(hits, start=1):
        for sentence in passage_sentences(h.chunk.text):
            words = stemmed(sentence)
            if words - asked and sentence not in found:
                found[sentence] = (len(words & asked) / len(asked), n)
    ranked = sorted(found.items(), key=lambda item: -item[1][0])
    if not ranked or ranked[0][1][0] < clear or (len(ranked) > 1 and ranked[1][1][0] == ranked[0][1][0]):
        return None
    sentence, (_, n) = ranked[0]
    return n, sentence


@CHECKERS.register("lexical")
@dataclass
class LexicalChecker(Component):
    """The default support check: ``ground``'s verdict; in place of an answer it rejects, the
    ``supporting_sentence``, or a refusal when no sentence clearly answers."""

    clear: float = 0.6
    """Share of the question's content words the supporting sentence must hold."""

    def check(self, question: str, answer: str, passages: Sequence[Hit]) -> SupportVerdict:
        g = ground(answer, passages, question)
        if not g.reason:
            return SupportVerdict(Outcome.kept, citations=tuple(g.citations))
        found = supporting_sentence(question, passages, self.clear)
        if found is None:
            return SupportVerdict(Outcome.refused, f"{g.reason}; no passage sentence clearly answers the question")
        n, sentence = found
        return SupportVerdict(Outcome.replaced, g.reason, (citation(n, passages[n - 1]),), sentence)
