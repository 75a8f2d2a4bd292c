"""A search as ``ragtune search`` runs it, for /v1/search and the web page's playground."""

from __future__ import annotations

from collections.abc import Sequence

from ragtune.documents.types import Hit
from ragtune.project import Project
from ragtune.serve.errors import ApiError
from ragtune.serve.limits import check_length
from ragtune.stores.filters import parse_filters


def search(project: Project, query: str, k: int | None = None, mode: str | None = None,
           filters: Sequence[str] = ()) -> list[Hit]:
    """The best-matching chunks, each with its score under every retriever that found it (``Hit.scores``).
    Blocking: run it in a worker thread."""
    check_length([query], project.config.serve.max_message_chars)
    if project.index_spec() is None:
        raise ApiError(400, "the index is empty: POST /v1/ingest first", "no_index")
    cfg = project.config.retrieval
    return project.retriever.search(query, k=k or cfg.k, mode=mode or cfg.mode, where=parse_filters(list(filters)))
