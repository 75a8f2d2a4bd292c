"""Questions generated from chunks by a generator (the local model or any OpenAI-compatible
endpoint), kept only when their chunk answers them and they repeat no earlier question."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from ragtune.documents.types import Chunk, Hit
from ragtune.evaluation.answer_metrics import normalize
from ragtune.finetune.dataset import jaccard
from ragtune.generation.protocol import Generator, Message
from ragtune.raft.build import QA
from ragtune.raft.journal import append, read_journal
from ragtune.rag.citations import missing_terms

_PAIR = re.compile(r"Question:\s*(.+?)\s*\n+\s*Answer:\s*(.+?)\s*(?=\n\s*Question:|\Z)", re.DOTALL | re.IGNORECASE)
NEAR_DUPLICATE = 0.8


def qgen_messages(chunk: Chunk, n: int) -> list[Message]:
    return [{"role": "system", "content": "You write factual quiz questions about a passage."},
            {"role": "user", "content": f"Passage:\n{chunk.indexed_text}\n\nWrite {n} different questions that this "
                                        "passage answers, each with its short answer taken from the passage. "
                                        "Use exactly this form:\nQuestion: ...\nAnswer: ..."}]


def parse_pairs(text: str) -> list[tuple[str, str]]:
    return [(q.strip(), a.strip().splitlines()[0].strip()) for q, a in _PAIR.findall(text.strip())]


def rejection(question: str, answer: str, chunk: Chunk, kept: Sequence[str]) -> str | None:
    """Why a generated pair is unusable, or None to keep it."""
    if not question.endswith("?") or len(question.split()) < 4:
        return "not a question"
    if not answer or len(answer.split()) > 15:
        return "no short answer"
    if normalize(answer) and normalize(answer) in normalize(question):
        return "the question gives its answer away"
    coverage, _ = missing_terms(answer, [Hit(chunk, 0.0)])
    if coverage < 1.0:
        return "the chunk does not hold the answer"
    words = set(normalize(question).split())
    if any(jaccard(words, set(normalize(k).split())) >= NEAR_DUPLICATE for k in kept):
        return "duplicate of an earlier question"
    return None


def generate_questions(chunks: Sequence[Chunk], generator: Generator, per_chunk: int, journal: Path,
                       progress: Callable[[int], None] = lambda n: None) -> tuple[list[QA], dict[str, int]]:
    """Generated, filtered questions for ``chunks``. Each chunk's outcome is journalled as one line, so
    an interrupted run asks the model again only about the chunks it had not finished."""
    done = {row["chunk_id"]: row for row in read_journal(journal)}
    kept: list[QA] = []
    rejected: dict[str, int] = {}
    with journal.open("a", encoding="utf-8") as f:
        for chunk in chunks:
            row = done.get(chunk.chunk_id)
            if row is None:
                text = generator.generate(qgen_messages(chunk, per_chunk), max_tokens=48 * per_chunk).text
                row = {"chunk_id": chunk.chunk_id, "pairs": parse_pairs(text)}
                append(f, row)
            for q, a in row["pairs"][:per_chunk]:
                why = rejection(q, a, chunk, [k.question for k in kept])
                if why:
                    rejected[why] = rejected.get(why, 0) + 1
                else:
                    kept.append(QA(q, a, chunk_id=chunk.chunk_id))
            progress(1)
    return kept, rejected
