"""Readers for evaluation files, with errors that name the file and line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ragtune.errors import RagtuneError
from ragtune.jsonl import read_lines


def read_jsonl(path: Path, required: tuple[str, ...], unique: str | None = None) -> list[dict]:
    """``unique`` names a field no two rows may share (BEIR's ``_id``)."""
    if not path.is_file():
        raise RagtuneError(f"{path}: no such file")
    rows = []
    first_line: dict[str, int] = {}
    for n, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise RagtuneError(f"{path}:{n}: malformed JSON: {e}") from e
        missing = [k for k in required if not isinstance(row, dict) or k not in row]
        if missing:
            raise RagtuneError(f"{path}:{n}: missing field(s) {', '.join(missing)}")
        if unique:
            key = str(row.get(unique))
            if key in first_line:
                raise RagtuneError(f"{path}:{n}: duplicate {unique} {key!r} (first on line {first_line[key]})")
            first_line[key] = n
        rows.append(row)
    if not rows:
        raise RagtuneError(f"{path}: no rows")
    return rows


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR qrels: a TSV with a header ``query-id corpus-id score``."""
    if not path.is_file():
        raise RagtuneError(f"{path}: no such file")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader, None)
        if not header or len(header) < 3:
            raise RagtuneError(f"{path}: expected a header 'query-id<TAB>corpus-id<TAB>score'")
        for n, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
            except (IndexError, ValueError) as e:
                raise RagtuneError(f"{path}:{n}: expected query-id, corpus-id and an integer score") from e
    return qrels
