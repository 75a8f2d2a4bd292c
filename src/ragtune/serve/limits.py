"""The request body limit, enforced before any endpoint parses the body: a larger one answers 413, whether it
declares its length or arrives in chunks."""

from __future__ import annotations

from collections.abc import Callable

from ragtune.serve.errors import ApiError, error_response


def check_length(texts: list[str], limit: int) -> None:
    """413 when a message is longer than serve.max_message_chars."""
    if any(len(t) > limit for t in texts):
        raise ApiError(413, f"a message is longer than {limit} characters (serve.max_message_chars)",
                       "message_too_long")


class BodyLimit:
    """ASGI middleware; ``max_bytes`` is called per request, so a changed config applies at once."""

    def __init__(self, app, max_bytes: Callable[[], int]):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.max_bytes()
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await self._refuse(scope, receive, send, limit)
        # read the whole body first (it is bounded by the limit), then replay it to the endpoint
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, _replay(b"", message, receive), send)
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                return await self._refuse(scope, receive, send, limit)
        return await self.app(scope, _replay(bytes(body), None, receive), send)

    @staticmethod
    async def _refuse(scope, receive, send, limit: int):
        response = error_response(413, f"request body larger than {limit} bytes (serve.max_body_bytes)",
                                  "body_too_large")
        await response(scope, receive, send)


def _replay(body: bytes, pending, receive):
    """A receive() that hands over the buffered body once, then the original channel (for disconnects)."""
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return pending if pending is not None else {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
