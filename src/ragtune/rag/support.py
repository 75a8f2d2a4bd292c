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
  clearly answers the question (``LexicalChecker``, the default support check).
* a yes or no: checked against the passage sentence that states what the question asks (``stated``); one the
  sentence contradicts is replaced by the sentence's answer, cited."""

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
STATES = 0.8
"""Share of a yes/no question's content words (stemmed) a passage sentence must hold to state what it asks
(chosen on mini-wiki dev questions outside the held-out ones: 67 of the 71 it decided were right, where the
packaged model answered 23 of 88 yes/no questions right)."""
ASIDE = 0.5
"""How much smaller a share of the question's content words the sentences holding an answer may have than the
sentence that clearly answers the question, before the answer counts as taken from a sentence about something
else (chosen on the same dev questions: 8 more of 200 right)."""
_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
_SAID = re.compile(r"\s*(yes|no)\b", re.IGNORECASE)
_ASKS_YES_NO = re.compile(r"\s*(?:(?:is|are|was|were|am|do|does|did|can|could|has|have|had|will|would|shall|should|"
                          r"may|might|must)(?:n't)?|can't|won't)(?=\s)", re.IGNORECASE)
_TRUE_THAT = re.compile(r"^\s*it true that\b", re.IGNORECASE)  # "Is it true that X?" asks whether X
_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|none|cannot)\b|n't\b", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.IGNORECASE)
_PREAMBLE = re.compile(r"\b(?:the\s+)?answer\s+is\b", re.IGNORECASE)  # "The answer is: 9" claims only 9


def _squash(text: str) -> str:
    return " ".join(text.lower().split())


def _words_of(text: str) -> str:
    """Lower-case words between single spaces, so that one holds another only word for word: " the white house "
    holds " white house ", and " the white houses " does not."""
    return " " + " ".join(_WORD.findall(text.casefold())) + " "


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


def passage_lines(text: str) -> list[list[str]]:
    """The sentences of each line of a passage."""
    return [_SPLITTER.sentences(line) for line in text.splitlines()]


def passage_sentences(text: str) -> list[str]:
    """The sentences of a passage, never across a line break: a line of a document (a list item, a heading, a
    line an injection put there) is never merged into a sentence shown as an answer."""
    return [s for line in passage_lines(text) for s in line]


def _numbered_sentences(hits: Sequence[Hit]) -> list[tuple[int, str]]:
    """(passage number, sentence) for every sentence of ``hits``, in prompt order."""
    return [(n, s) for n, h in enumerate(hits, start=1) for s in passage_sentences(h.chunk.text)]


def _share(words: set[str], asked: set[str]) -> float:
    """The share of ``asked`` (a question's stemmed content words, not empty) that ``words`` holds."""
    return len(words & asked) / len(asked)


def supporting_sentence(question: str, hits: Sequence[Hit], clear: float) -> tuple[int, str] | None:
    """(passage number, sentence): the passage sentence that answers ``question``, when one clearly does. It
    holds at least ``clear`` of the question's content words (stemmed), more than any other sentence does, and
    words of its own besides (an answer, not the question restated). A sentence two overlapping passages
    share counts once, from the first."""
    asked = stemmed(question)
    if not asked:
        return None
    found: dict[str, tuple[float, int]] = {}
    for n, sentence in _numbered_sentences(hits):
        words = stemmed(sentence)
        if words - asked and sentence not in found:
            found[sentence] = (_share(words, asked), n)
    ranked = sorted(found.items(), key=lambda item: -item[1][0])
    if not ranked or ranked[0][1][0] < clear or (len(ranked) > 1 and ranked[1][1][0] == ranked[0][1][0]):
        return None
    sentence, (_, n) = ranked[0]
    return n, sentence


@dataclass(frozen=True)
class Statement:
    n: int
    """Passage number of the sentence."""
    sentence: str
    """The passage sentence that states what a yes/no question asks, verbatim."""
    yes: bool
    """What it answers the question."""


def stated(question: str, hits: Sequence[Hit]) -> Statement | None:
    """For a yes/no question, the passage sentence that states what it asks: the one holding the most of its
    content words, at least ``STATES`` of them (the first of equals). It answers yes unless exactly one of the
    sentence and the question is negated ("Is X not Y?" against "X is Y." is a no)."""
    asks = _ASKS_YES_NO.match(question)
    if asks is None:
        return None
    claim = _TRUE_THAT.sub("", question[asks.end():])
    asked = stemmed(_NEGATION.sub(" ", claim))  # the negation decides the answer, not which sentence states it
    if not asked:
        return None
    best: tuple[float, int, str] | None = None
    for n, sentence in _numbered_sentences(hits):
        share = _share(stemmed(sentence), asked)
        if share >= STATES and (best is None or share > best[0]):
            best = (share, n, sentence)
    if best is None:
        return None
    _, n, sentence = best
    return Statement(n, sentence, bool(_NEGATION.search(sentence)) == bool(_NEGATION.search(question)))


def contradicted(question: str, answer: str, hits: Sequence[Hit]) -> SupportVerdict | None:
    """The stating sentence's answer in place of a yes or no it contradicts; None when the answer is not a yes or
    no, or no sentence states what the question asks, or the sentence agrees."""
    said = _SAID.match(strip_markers(final_answer(answer)))
    if said is None:
        return None
    s = stated(question, hits)
    if s is None or s.yes == (said.group(1).lower() == "yes"):
        return None
    word = "Yes" if s.yes else "No"
    return SupportVerdict(Outcome.replaced, f"passage [{s.n}] says {word.lower()}: {s.sentence!r}",
                          (citation(s.n, hits[s.n - 1]),), s.sentence, word)


def aside(question: str, answer: str, hits: Sequence[Hit], clear: float) -> tuple[int, str] | None:
    """(passage number, sentence): the ``supporting_sentence``, when ``answer`` is not in it and was taken from a
    sentence about something else: the passage sentences holding the answer's words (all of them, in order) each
    hold at least ``ASIDE`` less of the question's content words than it. None otherwise: an answer in words of
    its own (a paraphrase is left to the word-coverage check), and a yes or no (``contradicted`` checks those)."""
    claim = _words_of(strip_markers(final_answer(answer)))
    if not claim.strip() or _SAID.match(claim):
        return None
    found = supporting_sentence(question, hits, clear)
    if found is None or claim in _words_of(found[1]):
        return None
    asked = stemmed(question)  # not empty: a supporting sentence was found
    holding = [_share(stemmed(s), asked) for _, s in _numbered_sentences(hits) if claim in _words_of(s)]
    return found if holding and max(holding) <= _share(stemmed(found[1]), asked) - ASIDE else None


@CHECKERS.register("lexical")
@dataclass
class LexicalChecker(Component):
    """The default support check: a yes or no the passages contradict replaced by theirs (``contradicted``);
    otherwise ``ground``'s verdict, and in place of an answer it rejects or one taken from a sentence about
    something else (``aside``), the ``supporting_sentence``, or a refusal when no sentence clearly answers."""

    clear: float = 0.6
    """Share of the question's content words the supporting sentence must hold."""

    def check(self, question: str, answer: str, passages: Sequence[Hit]) -> SupportVerdict:
        if (corrected := contradicted(question, answer, passages)) is not None:
            return corrected
        g = ground(answer, passages, question)
        if not g.reason:
            if (elsewhere := aside(question, answer, passages, self.clear)) is None:
                return SupportVerdict(Outcome.kept, citations=tuple(g.citations))
            n, sentence = elsewhere
            return SupportVerdict(Outcome.replaced, f"its words come from a sentence about something else; passage "
                                  f"[{n}] answers the question", (citation(n, passages[n - 1]),), sentence)
        found = supporting_sentence(question, passages, self.clear)
        if found is None:
            return SupportVerdict(Outcome.refused, f"{g.reason}; no passage sentence clearly answers the question")
        n, sentence = found
        return SupportVerdict(Outcome.replaced, g.reason, (citation(n, passages[n - 1]),), sentence)
