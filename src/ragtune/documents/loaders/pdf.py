from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ragtune.component import Component
from ragtune.documents.loaders.protocol import LOADERS, Problem
from ragtune.documents.types import Document

log = logging.getLogger(__name__)


class _Notes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _pypdf_notes() -> Iterator[list[str]]:
    """pypdf reports what it repaired or could not read ("EOF marker not found") on its logger, which with no
    handler configured goes raw to stderr, without the file's name. They are collected here instead, for the
    loader to report with the file."""
    pypdf_log, notes = logging.getLogger("pypdf"), _Notes()
    pypdf_log.addHandler(notes)
    propagate, pypdf_log.propagate = pypdf_log.propagate, False
    try:
        yield notes.messages
    finally:
        pypdf_log.propagate = propagate
        pypdf_log.removeHandler(notes)


@LOADERS.register("pdf")
@dataclass
class PdfLoader(Component):
    extensions: ClassVar[tuple[str, ...]] = (".pdf",)

    def load(self, path: Path, doc_id: str) -> Iterator[Document | Problem]:
        with _pypdf_notes() as notes:
            try:
                reader = PdfReader(path)
                pages = [page.extract_text() or "" for page in reader.pages]
                title = (reader.metadata.title if reader.metadata else None) or path.stem
            except (PdfReadError, ValueError, OSError) as e:
                also = f" (pypdf: {'; '.join(dict.fromkeys(notes))})" if notes else ""
                yield Problem(str(path), f"unreadable PDF: {e}{also}")
                return
        for note in dict.fromkeys(notes):  # read anyway: pypdf repaired what it noted
            log.info("%s: pypdf: %s", path, note)
        text = "\n\n".join(p.strip() for p in pages if p.strip())
        if not text:
            yield Problem(str(path), "PDF has no extractable text (a scan? run OCR first)")
            return
        yield Document(doc_id=doc_id, text=text, source=str(path), title=str(title),
                       metadata={"pages": len(pages)})
