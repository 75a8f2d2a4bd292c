"""JSON Lines are split on "\\n" only. ``str.splitlines`` also splits on U+2028, U+0085 and other
separators that JSON leaves unescaped inside strings (Wikipedia text has them), which would cut one
record in two."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path


def split_lines(text: str) -> list[str]:
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def read_lines(path: Path) -> list[str]:
    return split_lines(Path(path).read_text(encoding="utf-8"))


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """All rows or nothing: written beside ``path``, then renamed over it, so a kill never leaves half a file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(path)
