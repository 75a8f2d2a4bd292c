"""Who is asking: the key a request authenticated with (or none, where serve.require_key is off), its scopes,
and the project as it stands for this request. The API and the web pages authenticate the same way."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from ragtune.project import Project
from ragtune.serve.keys import LEGACY_SCOPES, Scope, grants

ANONYMOUS_SCOPES = LEGACY_SCOPES
"""A request without a key where serve.require_key is off: chat and ingest; admin always needs a key."""

COOKIE = "ragtune_key"
"""The web page's sign-in: the API key in an HttpOnly cookie (docs/architecture.md says why)."""
WEB_HEADER = "X-Ragtune-Web"
"""Sent by the page's own scripts with every request that changes something. A cross-site form or script cannot
send a custom header without a CORS preflight, which this server never grants, so a request carrying the cookie
but not this header cannot be a forged one."""

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass
class Caller:
    key_id: str | None
    project: Project
    scopes: tuple[Scope, ...]

    def allows(self, scope: Scope) -> bool:
        return grants(self.scopes, scope)


def cookie_token(request: Request) -> str | None:
    """The key in the sign-in cookie, when this request may use it: reads always, changes only with the page's
    header (the cookie is SameSite=Strict too; the header also covers browsers that ignore that)."""
    token = request.cookies.get(COOKIE)
    if token and (request.method in SAFE_METHODS or request.headers.get(WEB_HEADER) == "1"):
        return token
    return None
