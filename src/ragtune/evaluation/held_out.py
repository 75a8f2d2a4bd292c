"""The questions a benchmark holds out of training, defined once: the mini-wiki dev questions shuffled with seed 0,
the first 100. bench/bakeoff_miniwiki.py and bench/reader_default.py evaluate on them, scripts/train_reader.py
trains the shipped reader on the rest, and tests/unit/test_reader_adapter.py proves the reader never saw them."""

from __future__ import annotations

import json
import random
from pathlib import Path

from ragtune.jsonl import read_lines

HELD_OUT, SEED = 100, 0


def held_out_split(questions: Path, first: int = HELD_OUT, seed: int = SEED) -> tuple[list[dict], list[dict]]:
    """(held out, the rest): the rows of the JSON Lines file ``questions``, shuffled with ``random.Random(seed)``,
    split after the first ``first``."""
    rows = [json.loads(line) for line in read_lines(questions) if line.strip()]
    random.Random(seed).shuffle(rows)
    return rows[:first], rows[first:]
