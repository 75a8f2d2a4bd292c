"""What an ingest over HTTP may overwrite. A document that came from a file (ingested from disk by
``ragtune ingest``) is the operator's: a request replaces it only when it says so (``"replace": true``, which
the app allows only to admin keys). Documents that came over the API may be re-sent by any ingest key."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ragtune.documents.types import Document
from ragtune.errors import RagtuneError
from ragtune.project import Project

API_SOURCE = "api:"
"""The source recorded for a document that came over the API (a file's is its path)."""


class FileDocumentsProtected(RagtuneError):
    def __init__(self, doc_ids: Sequence[str]):
        shown = ", ".join(repr(d) for d in doc_ids[:5]) + (f" and {len(doc_ids) - 5} more" if len(doc_ids) > 5 else "")
        super().__init__(f"document(s) {shown} came from files (ingested with 'ragtune ingest'); nothing was "
                         "written. To replace them, send \"replace\": true with a key that has the admin scope")
        self.doc_ids = list(doc_ids)


def api_document(doc_id: str, text: str, title: str, metadata: dict) -> Document:
    return Document(doc_id, text, API_SOURCE + doc_id, title, metadata)


def guarded(project: Project, documents: Sequence[Document], replace_files: bool) -> Iterator[Document]:
    """The documents, checked when ingest starts reading them: that is inside its write lock, so no CLI ingest
    can record a file under one of these ids between the check and the write. A clash raises before the
    first document is handed over, so nothing is written."""
    if not replace_files:
        existing = project.store.documents()
        clash = [d.doc_id for d in documents
                 if d.doc_id in existing and not existing[d.doc_id].source.startswith(API_SOURCE)]
        if clash:
            raise FileDocumentsProtected(clash)
    yield from documents
