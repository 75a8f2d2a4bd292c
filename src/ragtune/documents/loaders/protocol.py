"""The loader contract: a file in, documents (or problems naming what was skipped and why) out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ragtune.documents.types import Document, MetaValue

LOADERS: dict[str, "Loader"] = {}


@dataclass
class Problem:
    """Something skipped: the file (and line), and why. Ingest reports it and carries on."""

    source: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"


class Loader(Protocol):
    def load(self, path: Path, doc_id: str) -> Iterator[Document | Problem]:
        """Yield the documents in ``path``; ``doc_id`` is the id a single-document file gets."""
        ...


def register(*extensions: str):
    def decorate(cls):
        for ext in extensions:
            LOADERS[ext] = cls()
        return cls

    return decorate


def loader_for(path: Path) -> Loader | None:
    return LOADERS.get(path.suffix.lower())


def read_text(path: Path) -> str | Problem:
    """Strict UTF-8 with binary and emptiness checks: silently indexing mojibake helps no one."""
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return Problem(str(path), "binary file (contains NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return Problem(str(path), f"not valid UTF-8 text (byte {e.start}): {e.reason}")
    if not text.strip():
        return Problem(str(path), "empty file")
    return text


def meta_value(value: Any) -> MetaValue:
    """Metadata values the stores can filter on: scalars, dates as ISO strings, the rest as text."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)
