"""What every OpenAI-compatible backend shares: where the endpoint is, where its key comes from,
the official client built lazily from them, and errors that name the endpoint and what went wrong.

Retries are the official client's own (``max_retries``): exponential backoff from 0.5 s doubling to 8 s
with up to 25% jitter, a server's Retry-After honoured, and only what is worth retrying retried
(connection errors, timeouts, 408, 409, 429, 5xx). A hand-written tenacity loop around it would retry
4xx answers that cannot succeed and double the SDK's own retries."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ragtune.component import Component
from ragtune.errors import RagtuneError


@dataclass
class OpenAIEndpoint(Component):
    base_url: str = ""
    """Endpoint base URL, e.g. http://127.0.0.1:8080/v1; empty means OPENAI_BASE_URL or OpenAI."""
    api_key_env: str = "OPENAI_API_KEY"
    """Environment variable holding the key (the key itself is never saved in config)."""
    timeout: float = 120.0
    """Seconds before a request (each try) is abandoned."""
    max_retries: int = 2
    """Retries after a connection error, timeout, 408/409/429 or 5xx, with exponential backoff."""
    _client: Any = field(default=None, init=False, repr=False)

    @property
    def client(self):
        if self._client is None:
            from openai import OpenAI

            self._client = OpenAI(base_url=self.base_url or None, timeout=self.timeout,
                                  max_retries=self.max_retries,
                                  api_key=os.environ.get(self.api_key_env) or "not-needed")
        return self._client

    def error(self, what: str, e: Exception) -> RagtuneError:
        """``e`` from the client as a message naming the endpoint, the HTTP status and the server's words."""
        import openai

        where = f"{what} endpoint {(self.base_url or str(self.client.base_url)).rstrip('/')}"
        tries = f" (after {self.max_retries} retries)" if self.max_retries else ""
        if isinstance(e, openai.APITimeoutError):
            return RagtuneError(f"{where} timed out after {self.timeout:g}s{tries}")
        if isinstance(e, openai.APIConnectionError):
            return RagtuneError(f"{where} could not be reached{tries}: {e.__cause__ or e}")
        if isinstance(e, openai.APIStatusError):
            retried = tries if e.status_code in (408, 409, 429) or e.status_code >= 500 else ""
            return RagtuneError(f"{where} answered HTTP {e.status_code}{retried}: {server_words(e)}")
        return RagtuneError(f"{where} failed: {type(e).__name__}: {e}")


def server_words(e) -> str:
    """The server's own error message (OpenAI's {"error": {"message": ...}} shape, or the raw body)."""
    body = e.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        return str(inner.get("message", inner) if isinstance(inner, dict) else inner)
    return str(body or e.message)
