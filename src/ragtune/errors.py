"""Errors a user can act on: the CLI prints their message and exits non-zero, without a traceback."""

from __future__ import annotations

from pydantic import ValidationError


class RagtuneError(Exception):
    """A problem with the user's input, data or configuration, described in words they can act on."""


def validation_problems(e: ValidationError, most: int | None = None) -> str:
    """A pydantic error as one line a user reads: each field's dotted path and what is wrong with it."""
    return "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()[:most])
