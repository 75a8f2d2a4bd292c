from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from ragtune.component import Component
from ragtune.documents.loaders.protocol import LOADERS, Problem, flat_metadata
from ragtune.documents.types import Document


@LOADERS.register("beir")
@dataclass
class BeirLoader(Component):
    """A BEIR-layout corpus: one ``{"_id", "title", "text", ...}`` object a line; the other fields
    become metadata. A bad line is reported with its number and the rest of the file still loads."""

    extensions: ClassVar[tuple[str, ...]] = (".jsonl",)

    def load(self, path: Path, doc_id: str) -> Iterator[Document | Problem]:
        first_line: dict[str, int] = {}
        with path.open("rb") as f:
            for n, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    row = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError) as e:
                    yield Problem(str(path), f"malformed JSON: {e}", line=n)
                    continue
                if not isinstance(row, dict):
                    yield Problem(str(path), "expected a JSON object", line=n)
                    continue
                missing = [k for k in ("_id", "text") if k not in row]
                if missing:
                    yield Problem(str(path), f"missing field(s) {', '.join(missing)}", line=n)
                    continue
                text = str(row.pop("text")).strip()
                if not text:
                    yield Problem(str(path), f"document {row['_id']!r} has empty text", line=n)
                    continue
                _id = str(row.pop("_id"))
                if _id in first_line:
                    yield Problem(str(path), f"duplicate _id {_id!r} (first on line {first_line[_id]}), skipped", line=n)
                    continue
                first_line[_id] = n
                title = str(row.pop("title", "") or "")
                meta = flat_metadata(row)
                yield Document(doc_id=_id, text=text, source=str(path), title=title, metadata=meta)
