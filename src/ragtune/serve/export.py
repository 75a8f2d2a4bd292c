"""Approved and corrected interactions as chat fine-tuning data: the messages the model was given, then the
answer users approved (or the one they wrote instead), one JSON line each, as `ragtune data validate` reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ragtune.errors import RagtuneError
from ragtune.jsonl import write_jsonl
from ragtune.serve.interactions import InteractionLog

RATINGS = ("down", "up")  # in order: --min-rating down takes every rated answer, up only approved ones


@dataclass
class ExportReport:
    path: str
    examples: int
    approved: int
    corrected: int
    without_bodies: int
    """Rated interactions logged with serve.log_bodies off: nothing to train on."""

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def example(row: dict, min_rating: str) -> dict | None:
    """The training line for one logged interaction, or None when its feedback does not qualify."""
    if row["status"] != 200 or row["rating"] is None:
        return None
    if row["corrected"]:
        answer = row["corrected"]  # a correction is the approved answer, whatever the thumb said
    elif RATINGS.index(row["rating"]) >= RATINGS.index(min_rating):
        answer = row["answer"]
    else:
        return None
    return {"messages": [*row["prompt"], {"role": "assistant", "content": answer}]}


def export_finetune(log: InteractionLog, out: Path, min_rating: str = "up", since: float | None = None,
                    force: bool = False) -> ExportReport:
    if min_rating not in RATINGS:
        raise RagtuneError(f"--min-rating must be one of {', '.join(RATINGS)}, got {min_rating!r}")
    out = Path(out)
    if out.exists() and not force:
        raise RagtuneError(f"{out} exists; choose another path or pass --force")
    examples, approved, corrected, bodiless = [], 0, 0, 0
    for row in log.rows(since):
        if row["rating"] is not None and row["prompt"] is None and row["status"] == 200:
            bodiless += 1
            continue
        ex = example(row, min_rating) if row["prompt"] else None
        if ex is None:
            continue
        examples.append(ex)
        corrected += bool(row["corrected"])
        approved += not row["corrected"]
    out.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(out, examples)
    return ExportReport(str(out), len(examples), approved, corrected, bodiless)
