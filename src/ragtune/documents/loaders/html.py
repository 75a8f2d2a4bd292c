from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from bs4 import BeautifulSoup

from ragtune.component import Component
from ragtune.documents.loaders.protocol import LOADERS, Problem, read_text
from ragtune.documents.types import Document

# Page furniture repeats on every page and answers nothing.
_DROP = ["script", "style", "noscript", "nav", "header", "footer", "template", "svg"]


@LOADERS.register("html")
@dataclass
class HtmlLoader(Component):
    extensions: ClassVar[tuple[str, ...]] = (".html", ".htm")

    def load(self, path: Path, doc_id: str) -> Iterator[Document | Problem]:
        raw = read_text(path)
        if isinstance(raw, Problem):
            yield raw
            return
        soup = BeautifulSoup(raw, "html.parser")
        title = soup.title.get_text(strip=True) if soup.title else path.stem
        for tag in soup(_DROP):
            tag.decompose()
        body = soup.body or soup
        text = re.sub(r"\n\s*\n+", "\n\n", body.get_text("\n")).strip()
        if not text:
            yield Problem(str(path), "HTML page has no visible text")
            return
        yield Document(doc_id=doc_id, text=text, source=str(path), title=title)
