"""Citations: the [n] markers a model wrote, resolved to chunks; inferred from word overlap when a
small model answers from the context without citing it (``rag.support.ground`` keeps an inferred one only
when its passage supports the answer)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import Stemmer

from ragtune.documents.types import Hit

_STEMMER = Stemmer.Stemmer("english")

_MARK = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_WORD = re.compile(r"\w+")
_REFUSAL = re.compile(r"\b(i don'?t know|do(?:es)? not contain|not (?:contain|mention|provide|include)(?:e?d)? "
                      r"(?:in|the answer)|cannot (?:answer|find)|no information|not enough information|"
                      r"unable to (?:answer|find))\b", re.IGNORECASE)
_STOP = {"the", "a", "an", "of", "to", "and", "or", "in", "on", "for", "is", "are", "was", "were", "be", "it", "by",
         "with", "as", "at", "that", "this", "you", "your", "can", "from", "what", "which", "who", "whom", "when",
         "where", "why", "how", "do", "does", "did", "many", "much", "there", "any", "i", "my", "we", "our"}


@dataclass
class Citation:
    n: int
    chunk_id: str
    doc_id: str
    source: str
    title: str
    chunk_index: int
    inferred: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def is_refusal(text: str) -> bool:
    return bool(_REFUSAL.search(text))


def strip_markers(text: str) -> str:
    return re.sub(r"\s+", " ", _MARK.sub("", text)).strip()


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def missing_terms(text: str, hits: Sequence[Hit], given: str = "") -> tuple[float, list[str]]:
    """The share of ``text``'s content words (stemmed) that the passages contain, and the words they
    lack. On a question it estimates whether the passages can answer it at all; on an answer it is a
    deterministic faithfulness proxy (words a model invents lower it). Words of ``given`` (the question,
    for an answer) count as found: an answer may restate its question."""
    words = dict(zip(*_stems(content_words(strip_markers(text))), strict=True))
    if not words:
        return 0.0, []
    context = stemmed(" ".join([*(h.chunk.indexed_text for h in hits), given]))
    missing = sorted(w for w, s in words.items() if s not in context)
    return 1 - len(missing) / len(words), missing


def stemmed(text: str) -> set[str]:
    """The content words of ``text``, stemmed."""
    return set(_stems(content_words(text))[1])


def _stems(words: set[str]) -> tuple[list[str], list[str]]:
    ordered = sorted(words)
    return ordered, _STEMMER.stemWords(ordered)


def citation(n: int, hit: Hit, inferred: bool = False) -> Citation:
    c = hit.chunk
    return Citation(n, c.chunk_id, c.doc_id, str(c.metadata.get("source", "")), c.title, c.index, inferred)


def resolve(answer: str, hits: Sequence[Hit], min_overlap: float = 0.5) -> list[Citation]:
    cited: list[int] = []
    for group in _MARK.findall(answer):
        for n in (int(x) for x in group.split(",")):
            if 1 <= n <= len(hits) and n not in cited:
                cited.append(n)
    if cited:
        return [citation(n, hits[n - 1], False) for n in cited]
    words = content_words(strip_markers(answer))
    if not words:
        return []
    best_n, best = 0, 0.0
    for n, h in enumerate(hits, start=1):
        share = len(words & content_words(h.chunk.indexed_text)) / len(words)
        if share > best:
            best_n, best = n, share
    return [citation(best_n, hits[best_n - 1], True)] if best >= min_overlap else []
