from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import frontmatter
import yaml

from ragtune.component import Component
from ragtune.documents.loaders.protocol import LOADERS, Problem, flat_metadata, read_text
from ragtune.documents.types import Document

_HEADING = re.compile(r"^#\s+(.+)$", re.MULTILINE)


@LOADERS.register("markdown")
@dataclass
class MarkdownLoader(Component):
    """YAML front matter becomes metadata; the title is front matter's, else the first heading."""

    extensions: ClassVar[tuple[str, ...]] = (".md", ".markdown")

    def load(self, path: Path, doc_id: str) -> Iterator[Document | Problem]:
        text = read_text(path)
        if isinstance(text, Problem):
            yield text
            return
        try:
            post = frontmatter.loads(text)
        except yaml.YAMLError as e:
            yield Problem(str(path), f"invalid YAML front matter: {e}")
            return
        meta = flat_metadata(post.metadata)
        title = str(meta.pop("title", "") or "")
        if not title:
            m = _HEADING.search(post.content)
            title = m.group(1).strip() if m else path.stem
        body = post.content.strip()
        if not body:
            yield Problem(str(path), "no text after the front matter")
            return
        yield Document(doc_id=doc_id, text=body, source=str(path), title=title, metadata=meta)
