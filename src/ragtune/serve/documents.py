"""Documents over HTTP, under one set of rules for /v1/ingest and the web page: ingest needs the ingest scope
and ``serve.allow_ingest``; replacing or deleting a document that came from a file (``ragtune ingest``) needs
the admin scope too. Blocking functions: the app runs them in worker threads."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from ragtune.documents.loaders import Problem, loader_for, unsupported_type
from ragtune.documents.types import Document
from ragtune.errors import RagtuneError
from ragtune.rag.ingest import IngestReport, ingest_documents, remove_documents
from ragtune.serve.caller import Caller
from ragtune.serve.errors import ApiError
from ragtune.serve.ingest_guard import API_SOURCE, FileDocumentsProtected, api_document, guarded
from ragtune.serve.keys import Scope
from ragtune.stores.protocol import DocState


def _may_ingest(who: Caller) -> None:
    if not who.allows(Scope.ingest):
        raise ApiError(403, "this API key lacks the ingest scope; create one that has it with "
                            "'ragtune keys create --scope ingest'", "missing_scope")
    if not who.project.config.serve.allow_ingest:
        raise ApiError(403, "ingest over HTTP is switched off on this server (serve.allow_ingest: false)",
                       "ingest_disabled")


def ingest(who: Caller, documents: Sequence[Document], replace: bool = False) -> IngestReport:
    """Add or update ``documents``; an id that came from a file is refused (409, nothing written) unless
    ``replace`` with an admin key."""
    _may_ingest(who)
    if replace and not who.allows(Scope.admin):
        raise ApiError(403, "\"replace\": true needs a key with the admin scope "
                            "('ragtune keys create --scope admin')", "missing_scope", "replace")
    try:
        return ingest_documents(who.project, guarded(who.project, documents, replace))
    except FileDocumentsProtected as e:
        raise ApiError(409, str(e), "document_from_file", "documents") from None
    except RagtuneError as e:
        raise ApiError(409 if "another ragtune process" in str(e) else 400, str(e)) from None


def from_file(name: str, data: bytes) -> tuple[list[Document], list[Problem]]:
    """The documents an uploaded file holds, read by the loader ``ragtune ingest`` would use for its name, and
    what was skipped, in the CLI's words. Each document is recorded as sent over the API (id: the file name,
    or a corpus line's own id), so the rules above apply to it."""
    filename = PurePosixPath(name.replace("\\", "/")).name  # a browser may send a path: keep the name
    if not filename or filename.startswith("."):
        return [], [Problem(name or "(no name)", "a file needs a name (and not a hidden one)")]
    loader = loader_for(Path(filename))
    if loader is None:
        return [], [unsupported_type(Path(filename))]
    with tempfile.TemporaryDirectory(prefix="ragtune-upload-") as folder:
        path = Path(folder) / filename
        path.write_bytes(data)
        docs, problems = [], []
        for item in loader.load(path, filename):
            if isinstance(item, Problem):
                problems.append(Problem(filename, item.message, item.line))
            else:
                docs.append(api_document(item.doc_id, item.text, item.title, dict(item.metadata)))
    return docs, problems


def listed(who: Caller) -> dict[str, DocState]:
    return who.project.store.documents()


def delete(who: Caller, doc_ids: Sequence[str]) -> int:
    """Remove whole documents; one that came from a file needs an admin key (403, nothing removed)."""
    _may_ingest(who)

    def check(existing: dict[str, DocState]) -> None:
        missing = [d for d in doc_ids if d not in existing]
        if missing:
            raise ApiError(404, f"no document {missing[0]!r} in the index", "document_not_found")
        files = [d for d in doc_ids if not existing[d].source.startswith(API_SOURCE)]
        if files and not who.allows(Scope.admin):
            raise ApiError(403, f"document {files[0]!r} came from a file (ingested with 'ragtune ingest'); deleting "
                                "it needs a key with the admin scope, or remove the file and run 'ragtune ingest "
                                "--prune'", "document_from_file")
    try:
        return remove_documents(who.project, doc_ids, check)
    except RagtuneError as e:
        raise ApiError(409, str(e)) from None
