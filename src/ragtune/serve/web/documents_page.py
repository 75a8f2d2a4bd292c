"""Documents: the indexed ones, uploading files (read by the loaders `ragtune ingest` uses, with its type checks
and messages; the server's body limit bounds their size), and deleting, under serve/documents.py's rules."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import Depends, FastAPI, Form, Request, UploadFile

from ragtune.serve import documents
from ragtune.serve.caller import Caller
from ragtune.serve.errors import ApiError
from ragtune.serve.ingest_guard import API_SOURCE
from ragtune.serve.keys import Scope
from ragtune.serve.web.render import Authenticate, PageError, page_caller, render


def install(app: FastAPI, authenticate: Authenticate) -> None:
    chat_page = Depends(page_caller(authenticate, Scope.chat))
    ingest_page = Depends(page_caller(authenticate, Scope.ingest))

    async def listing(request: Request, who: Caller, template: str, **context):
        docs = await anyio.to_thread.run_sync(documents.listed, who)
        return render(request, template, docs=sorted(docs.items()), can_ingest=who.allows(Scope.ingest),
                      is_admin=who.allows(Scope.admin), api_source=API_SOURCE,
                      max_bytes=who.project.config.serve.max_body_bytes, signed_in=True, **context)

    @app.get("/documents", include_in_schema=False)
    async def documents_page(request: Request, who: Caller = chat_page):
        return await listing(request, who, "documents.html")

    @app.post("/ui/documents/upload", include_in_schema=False)
    async def upload(request: Request, files: list[UploadFile], who: Caller = ingest_page):
        docs, problems = [], []
        for f in files:
            found, skipped = await anyio.to_thread.run_sync(documents.from_file, f.filename or "", await f.read())
            docs += found
            problems += skipped
        report = None
        if docs:
            try:
                report = await anyio.to_thread.run_sync(documents.ingest, who, docs)
            except ApiError as e:
                raise PageError(e.status, e.message) from None
        return await listing(request, who, "documents_changed.html", report=report, problems=problems)

    @app.post("/ui/documents/delete", include_in_schema=False)
    async def delete(request: Request, doc_id: Annotated[str, Form()], who: Caller = ingest_page):
        try:
            await anyio.to_thread.run_sync(documents.delete, who, [doc_id])
        except ApiError as e:
            raise PageError(e.status, e.message) from None
        return await listing(request, who, "documents_changed.html", deleted=doc_id)
