"""Which id a file's document gets. The store is the record (as for everything ingest decides): a
file keeps the id it already has there, whichever path reached it; a new file takes the first of its
names (documents/discover.py) that no other existing file holds, so two files never share an id.

Ids are therefore read, not recomputed: projects built before this rule keep their ids (``docs/a.md``
from ``ingest docs/``), and ids do not change when the project folder moves. An id whose file is gone
(a moved folder) is free to take, so a moved file is re-recorded under its old id."""

from __future__ import annotations

from pathlib import Path

from ragtune.documents.discover import SourceFile
from ragtune.stores.protocol import DocState


def source_file(source: str) -> Path | None:
    """The file a stored source names, resolved; None for a source that is not a file that exists
    (a gone file, or a document given as data through the API)."""
    p = Path(source)
    return p.resolve() if p.is_absolute() and p.is_file() else None


def _names_file(doc_id: str, source: str) -> bool:
    """A single-document file's id ends with its file name; a BEIR file's documents have their own ids."""
    name = Path(source).name
    return doc_id == name or doc_id.endswith("/" + name)


class DocIds:
    def __init__(self, existing: dict[str, DocState]):
        self._holder: dict[str, Path | None] = {}  # id -> the existing file holding it (None: not a file)
        self._gone: set[str] = set()  # ids whose file no longer exists
        self._ids_of: dict[Path, list[str]] = {}
        for doc_id, state in existing.items():
            path = source_file(state.source)
            self._holder[doc_id] = path
            if path is None and Path(state.source).is_absolute():
                self._gone.add(doc_id)
            if path is not None and _names_file(doc_id, state.source):
                self._ids_of.setdefault(path, []).append(doc_id)

    def assign(self, item: SourceFile) -> tuple[str, list[str]]:
        """The file's id, and other ids the store holds for the same file (an older release gave
        one file reached by two paths two ids): duplicates to remove."""
        known = self._ids_of.get(item.path, [])
        if known:
            # deterministic whichever path reached the file this time: the most specific id
            doc_id = max(known, key=lambda d: (d.count("/"), d))
            duplicates = [d for d in known if d != doc_id]
        else:
            free = next((n for n in item.names if n not in self._holder or n in self._gone), None)
            n = 2
            while free is None:  # every name, even the absolute path, is held by a document given as data
                candidate = f"{item.names[-1]}~{n}"
                free = None if candidate in self._holder else candidate
                n += 1
            doc_id = free
            duplicates = []
        for d in duplicates:
            del self._holder[d]
        self._holder[doc_id] = item.path
        self._gone.discard(doc_id)
        self._ids_of[item.path] = [doc_id]
        return doc_id, duplicates
