"""Rendering a page, and who may see it: the signed-in caller (the API's own authentication, read from the
sign-in cookie) with the scope the page needs. Without a key a page is the sign-in form, nothing else."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from ragtune.serve.caller import Caller, cookie_token
from ragtune.serve.errors import ApiError
from ragtune.serve.keys import Scope

TEMPLATES = Jinja2Templates(env=Environment(loader=PackageLoader("ragtune.serve.web", "templates"),
                                            autoescape=select_autoescape(["html"])))

TEMPLATES.env.filters["timestamp"] = lambda t: time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t)) if t else "–"

Authenticate = Callable[[Request, str | None], Caller]


class SignInNeeded(Exception):
    """The request has no valid key: the page is the sign-in form."""


class PageError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, template, {"path": request.url.path, **context}, status_code=status)


def page_caller(authenticate: Authenticate, scope: Scope) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency: the signed-in caller, if its key has ``scope``."""
    async def who(request: Request) -> Caller:
        try:
            caller = authenticate(request, cookie_token(request))
        except ApiError as e:
            if e.status == 401:
                raise SignInNeeded() from None
            raise PageError(e.status, e.message) from None
        if not caller.allows(scope):
            raise PageError(403, f"your API key lacks the {scope.value} scope this page needs; sign in with a key "
                                 f"that has it ('ragtune keys create --scope {scope.value}')")
        return caller
    return who


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, e: SignInNeeded):
        # htmx fragments load the whole page again, which is then the sign-in form
        headers = {"HX-Refresh": "true"} if request.headers.get("HX-Request") else None
        response = render(request, "sign_in.html", 401, next=request.url.path)
        if headers:
            response.headers.update(headers)
        return response

    @app.exception_handler(PageError)
    async def _error(request: Request, e: PageError):
        template = "error_fragment.html" if request.headers.get("HX-Request") else "error.html"
        return render(request, template, e.status, message=e.message, signed_in=True)
