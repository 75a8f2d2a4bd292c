from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from ragtune.component import Component
from ragtune.documents.loaders.protocol import LOADERS, Problem, read_text
from ragtune.documents.types import Document


@LOADERS.register("text")
@dataclass
class TextLoader(Component):
    extensions: ClassVar[tuple[str, ...]] = (".txt", ".text")

    def load(self, path: Path, doc_id: str) -> Iterator[Document | Problem]:
        text = read_text(path)
        if isinstance(text, Problem):
            yield text
            return
        yield Document(doc_id=doc_id, text=text.strip(), source=str(path), title=path.stem)
