"""Errors in OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, so the official client
raises its usual exceptions (AuthenticationError, RateLimitError, NotFoundError...)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ragtune.errors import RagtuneError
from ragtune.serve.request_errors import describe
from ragtune.serve.schemas import ErrorResponse

_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
          404: "not_found_error", 409: "conflict_error", 413: "request_too_large", 429: "rate_limit_error",
          500: "server_error", 502: "upstream_error", 503: "unavailable", 504: "timeout"}

# Every endpoint can answer these; listed in the OpenAPI spec so its responses are documented.
RESPONSES: dict[int | str, dict[str, Any]] = {code: {"model": ErrorResponse} for code in (400, 401, 403, 413, 429)}


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, param: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.param, self.headers = status, message, code, param, headers


def error_response(status: int, message: str, code: str | None = None, param: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": _TYPES.get(status, "error"), "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(request: Request, e: ApiError):
        return error_response(e.status, e.message, e.code, e.param, e.headers)

    @app.exception_handler(RagtuneError)
    async def _ragtune(request: Request, e: RagtuneError):
        return error_response(400, str(e), "invalid_request")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError):
        message, param, code = describe(e.errors(), e.body)
        return error_response(400, message, code, param)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, e: HTTPException):
        return error_response(e.status_code, str(e.detail), None, None, getattr(e, "headers", None))
