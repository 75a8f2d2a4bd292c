from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ragtune.component import Component
from ragtune.documents.loaders.protocol import LOADERS, Problem
from ragtune.documents.types import Document


@LOADERS.register("pdf")
@dataclass
class PdfLoader(Component):
    extensions: ClassVar[tuple[str, ...]] = (".pdf",)

    def load(self, path: Path, doc_id: str) -> Iterator[Document | Problem]:
        try:
            reader = PdfReader(path)
            pages = [page.extract_text() or "" for page in reader.pages]
        except (PdfReadError, ValueError, OSError) as e:
            yield Problem(str(path), f"unreadable PDF: {e}")
            return
        text = "\n\n".join(p.strip() for p in pages if p.strip())
        if not text:
            yield Problem(str(path), "PDF has no extractable text (a scan? run OCR first)")
            return
        title = (reader.metadata.title if reader.metadata else None) or path.stem
        yield Document(doc_id=doc_id, text=text, source=str(path), title=str(title),
                       metadata={"pages": len(pages)})
