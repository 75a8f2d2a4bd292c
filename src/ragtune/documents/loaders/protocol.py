"""The loader contract: a file in, documents (or problems naming what was skipped and why) out."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from ragtune.documents.types import Document, MetaValue
from ragtune.registry import Registry


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
    extensions: ClassVar[tuple[str, ...]]
    """File extensions (lower case, with the dot) this loader reads."""

    def load(self, path: Path, doc_id: str) -> Iterator[Document | Problem]:
        """Yield the documents in ``path``; ``doc_id`` is the id a single-document file gets."""
        ...


LOADERS: Registry[Loader] = Registry("loader")


def loader_for(path: Path) -> Loader | None:
    """The loader for a file, by its extension: the one registered last among those claiming it, so a
    plugin can take an extension over from a built-in."""
    ext = path.suffix.lower()
    for name, cls in reversed(LOADERS.classes().items()):
        if ext in cls.extensions:
            return LOADERS.create(name)
    return None


def unsupported_type(path: Path) -> Problem:
    """A file no loader reads: what ``ragtune ingest`` and the web page's upload both say."""
    return Problem(str(path), f"unsupported file type {path.suffix or '(none)'!r}")


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


_KEY = re.compile(r"[\w.\-]+")  # what a filter accepts as a key (stores/filters.py)


def meta_value(value: Any) -> MetaValue:
    """Metadata values the stores can filter on: scalars, dates as ISO strings, the rest as text."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return json.dumps(value, default=str, ensure_ascii=False)


def flat_metadata(fields: Mapping[str, Any]) -> dict[str, MetaValue]:
    """Front matter or extra BEIR fields as keys a filter can name. A nested mapping becomes dotted
    keys (``author: {name: Ann}`` -> ``author.name=Ann``); a list keeps its items as text under its
    own key (``tags: [api, billing]`` -> ``tags="api, billing"``) and gives each item that can be a
    key a true flag (``tags.api=true``), since stores cannot filter on list membership."""
    out: dict[str, MetaValue] = {}

    def walk(key: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{key}.{k}", v)
        elif isinstance(value, (list, tuple, set)):
            items = [meta_value(v) for v in value if v is not None]
            out[key] = ", ".join(str(v) for v in items)
            for v in items:
                if not isinstance(v, (bool, float)) and _KEY.fullmatch(str(v)):
                    out[f"{key}.{v}"] = True
        else:
            out[key] = meta_value(value)

    for k, v in fields.items():
        walk(str(k), v)
    return out
