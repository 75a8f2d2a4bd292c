from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ragtune.documents.loaders.protocol import Problem, read_text, register
from ragtune.documents.types import Document


@register(".txt", ".text")
class TextLoader:
    def load(self, path: Path, doc_id: str) -> Iterator[Document | Problem]:
        text = read_text(path)
        if isinstance(text, Problem):
            yield text
            return
        yield Document(doc_id=doc_id, text=text.strip(), source=str(path), title=path.stem)
