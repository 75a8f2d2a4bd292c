"""An append-only JSON-lines journal: long work records each finished item as one line, so a run
that was killed resumes after the last whole line instead of starting over."""

from __future__ import annotations

import json
from pathlib import Path

from ragtune.jsonl import split_lines


def read_journal(path: Path) -> list[dict]:
    """The whole lines; a last line torn by a kill is cut off so later appends start clean."""
    if not path.exists():
        return []
    lines = split_lines(path.read_text(encoding="utf-8"))
    rows = []
    for line in lines:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break
    if len(rows) < len(lines):
        path.write_text("".join(line + "\n" for line in lines[:len(rows)]), encoding="utf-8")
    return rows


def append(f, row: dict) -> None:
    f.write(json.dumps(row, ensure_ascii=False) + "\n")
    f.flush()
