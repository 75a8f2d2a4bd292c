"""Passages cut to a word budget before the model reads them: a small model on a CPU pays for every passage
word in prefill time, and the tail of long prompts sets the tail of its latency. When the passages run past
the budget, each keeps its sentences sharing the most of the question's content words (stemmed; the first of
equals), at least its best one, in their order; the rest are left out of the prompt. Citations, the support
check and what is shown still read the whole passages.

Written here rather than taken from LlamaIndex's SentenceEmbeddingOptimizer or LangChain's EmbeddingsFilter,
which do this inside their own frameworks over embeddings: it is a few lines over ragtune's own sentence
splitter and stemmer (the ones the support check reads passages with), and embedding scores measured no better
on mini-wiki's dev questions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ragtune.documents.types import Hit
from ragtune.rag.citations import stemmed
from ragtune.rag.support import passage_lines

LOCAL_WORDS = 150
"""The default budget for the packaged SmolLM2 (``app.variants.context_words``): chosen on mini-wiki's dev
questions outside the held-out ones (docs/architecture.md)."""


def focused(question: str, hits: Sequence[Hit], budget: int | None) -> list[Hit]:
    """``hits`` whose texts together hold at most ``budget`` words, or as near as one sentence per passage
    allows; unchanged when they already fit or ``budget`` is None."""
    if budget is None:  # before any sentence splitting: most models read whole passages
        return list(hits)
    lines = [passage_lines(h.chunk.text) for h in hits]
    sentences = [(p, ln, s) for p, passage in enumerate(lines) for ln, line in enumerate(passage) for s in line]
    words = [len(s.split()) for _, _, s in sentences]
    if sum(words) <= budget:
        return list(hits)
    asked = stemmed(question)
    ranked = sorted(range(len(sentences)), key=lambda n: -len(stemmed(sentences[n][2]) & asked))
    kept = {next(n for n in ranked if sentences[n][0] == p) for p in {p for p, _, _ in sentences}}
    used = sum(words[n] for n in kept)
    for n in ranked:
        if n not in kept and used + words[n] <= budget:
            kept.add(n)
            used += words[n]
    out = []
    for p, h in enumerate(hits):
        by_line: dict[int, list[str]] = {}
        for n, (q, ln, s) in enumerate(sentences):
            if q == p and n in kept:
                by_line.setdefault(ln, []).append(s)
        out.append(replace(h, chunk=replace(h.chunk, text="\n".join(" ".join(line) for line in by_line.values()))))
    return out
