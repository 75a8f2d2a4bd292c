"""Sign-in and the chat page. Chat itself and feedback go from the page's script to the API's own endpoints
(/v1/chat/completions streamed, /v1/feedback), so what a person does here is logged, rated and exported
exactly as an API client's request."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from ragtune.app.variants import available
from ragtune.serve.caller import COOKIE, Caller
from ragtune.serve.errors import ApiError
from ragtune.serve.keys import Scope
from ragtune.serve.web.render import Authenticate, PageError, page_caller, render

INVALID_KEY = "that key is not valid (mistyped, or revoked): create one with 'ragtune keys create'"


def _local(target: str) -> str:
    """Where to go after signing in: a path on this server only (never another site)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _cross_site(request: Request) -> bool:
    """A form posted from another site (a forged sign-in would put the user in the attacker's session)."""
    origin = request.headers.get("origin")
    return origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}"


def install(app: FastAPI, authenticate: Authenticate) -> None:
    chat_page = Depends(page_caller(authenticate, Scope.chat))

    @app.post("/sign-in", include_in_schema=False)
    async def sign_in(request: Request, key: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"):
        if _cross_site(request):
            raise PageError(403, "sign in from this server's own page")
        try:
            authenticate(request, key.strip())
        except ApiError as e:
            return render(request, "sign_in.html", e.status, error=INVALID_KEY if e.status == 401 else e.message,
                          next=_local(next))
        response = RedirectResponse(_local(next), status_code=303)
        # HttpOnly: page scripts never read the key; SameSite=Strict: no other site's request carries it;
        # a session cookie: gone when the browser closes
        response.set_cookie(COOKIE, key.strip(), httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")
        return response

    @app.post("/sign-out", include_in_schema=False)
    async def sign_out(request: Request) -> Response:
        if _cross_site(request):
            raise PageError(403, "sign out from this server's own page")
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/", include_in_schema=False)
    async def chat(request: Request, who: Caller = chat_page):
        variants = await anyio.to_thread.run_sync(available, who.project)
        return render(request, "chat.html", variants=[v.name for v in variants], signed_in=True)

    @app.get("/ui/passage", include_in_schema=False)
    async def passage(request: Request, chunk_id: str, who: Caller = chat_page):
        """A cited passage's text, shown when its citation is opened."""
        found = await anyio.to_thread.run_sync(who.project.store.get, [chunk_id])
        return render(request, "passage.html", chunk=found[0] if found else None, chunk_id=chunk_id)
