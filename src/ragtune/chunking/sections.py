"""Chunking a document section by section, so a huge file never goes through a chunker (or a regex,
or a tokenizer call that Ctrl-C cannot interrupt) whole. A chunk never spans two sections; a document
shorter than one section is chunked exactly as a whole."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from ragtune.chunking.protocol import Chunker
from ragtune.documents.types import Chunk, Document

SECTION_CHARS = 100_000


def sections(text: str, size: int = SECTION_CHARS) -> Iterator[str]:
    """Pieces of at most ``size`` characters, cut at the last paragraph break, else line break, else
    space in the window (a cut mid-word only when the window has none)."""
    start = 0
    while len(text) - start > size:
        window = text[start:start + size]
        for sep in ("\n\n", "\n", " "):
            cut = window.rfind(sep)
            if cut > 0:
                break
        end = start + cut if cut > 0 else start + size
        yield text[start:end]
        start = end
    yield text[start:]


def split_section(chunker: Chunker, doc: Document, part: str, first: int) -> list[Chunk]:
    """The chunks of one section of ``doc``, numbered from ``first``."""
    if not part.strip():
        return []
    return [dataclasses.replace(c, chunk_id=f"{doc.doc_id}#{first + i}", index=first + i)
            for i, c in enumerate(chunker.split(dataclasses.replace(doc, text=part)))]
