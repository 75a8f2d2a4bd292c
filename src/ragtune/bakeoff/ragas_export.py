"""A bake-off's answers in Ragas's evaluation-dataset format: one JSON object a line with the fields of
``ragas.SingleTurnSample`` (user_input, retrieved_contexts, retrieved_context_ids, response,
reference), so
``ragas.EvaluationDataset.from_jsonl`` loads it and Ragas's LLM-judged metrics can score the same runs."""

from __future__ import annotations

from pathlib import Path

from ragtune.bakeoff.run import read_answers
from ragtune.errors import RagtuneError
from ragtune.evaluation.qa import QARow
from ragtune.jsonl import write_jsonl


def ragas_rows(answers: list[QARow], variant: str, chunk_texts) -> list[dict]:
    """One variant's first-repeat answers as Ragas samples; ``chunk_texts(ids)`` gives the texts of
    the retrieved chunks, in order."""
    mine = [a for a in answers if a.variant == variant and a.repeat == 0]
    if not mine:
        known = sorted({a.variant for a in answers})
        raise RagtuneError(f"the bake-off has no answers from variant {variant!r}; it has {', '.join(known)}")
    rows = []
    for a in mine:
        row = {"user_input": a.question, "retrieved_contexts": chunk_texts(a.contexts),
               "retrieved_context_ids": a.contexts,
               # the plain answer the scores use; a refusal has none, so the refusal itself is the response
               "response": a.final or a.answer}
        if a.reference:  # unanswerable questions have no reference answer
            row["reference"] = a.reference
        rows.append(row)
    return rows


def store_texts(store):
    """Chunk ids -> texts from the project's store, as the prompt showed them (title, then text)."""
    def texts(ids: list[str]) -> list[str]:
        found = {c.chunk_id: c for c in store.get(ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise RagtuneError(f"chunks {', '.join(missing[:3])} are no longer in the project's index "
                               "(re-ingested since the bake-off?); re-run the bake-off")
        return [found[i].indexed_text for i in ids]

    return texts


def export_ragas(bakeoff_dir: Path, project, out: Path, variant: str = "rag") -> int:
    rows = ragas_rows(read_answers(bakeoff_dir), variant, store_texts(project.store))
    out.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(out, rows)
    return len(rows)
