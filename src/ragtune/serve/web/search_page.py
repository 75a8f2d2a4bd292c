"""The search playground: a query with its mode, k and filters, and each hit's score under every retriever,
through the same search as /v1/search."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import Depends, FastAPI, Form, Request

from ragtune.errors import RagtuneError
from ragtune.retrieval.retriever import MODES
from ragtune.serve.caller import Caller
from ragtune.serve.keys import Scope
from ragtune.serve.search import search
from ragtune.serve.web.render import Authenticate, PageError, page_caller, render


def install(app: FastAPI, authenticate: Authenticate) -> None:
    chat_page = Depends(page_caller(authenticate, Scope.chat))

    @app.get("/search", include_in_schema=False)
    async def search_page(request: Request, who: Caller = chat_page):
        cfg = who.project.config.retrieval
        return render(request, "search.html", modes=MODES, mode=cfg.mode, k=cfg.k, signed_in=True)

    @app.post("/ui/search", include_in_schema=False)
    async def results(request: Request, query: Annotated[str, Form()], mode: Annotated[str, Form()] = "",
                      k: Annotated[int | None, Form(ge=1, le=100)] = None, filters: Annotated[str, Form()] = "",
                      who: Caller = chat_page):
        wanted = [line.strip() for line in filters.splitlines() if line.strip()]
        try:
            hits = await anyio.to_thread.run_sync(search, who.project, query, k, mode or None, wanted)
        except RagtuneError as e:  # a bad filter or mode, in the words `ragtune search` uses
            raise PageError(400, str(e)) from None
        retrievers = sorted({name for h in hits for name in h.scores})
        return render(request, "search_results.html", hits=hits, retrievers=retrievers, query=query)
