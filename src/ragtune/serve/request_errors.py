"""A failed request validation in the user's terms: the field as written in the JSON (``messages[0].content``)
and the problem in words. pydantic's locations also name union branches and validators
(``function-after[...]``), which are not part of the request: a location step is kept only where the body
really has it, so whatever else pydantic inserted drops out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

# type-mismatch errors: what the field accepts, in JSON's words
_EXPECTED = {"string_type": "a string", "list_type": "an array", "tuple_type": "an array", "int_type": "an integer",
             "int_from_float": "an integer", "float_type": "a number", "bool_type": "true or false",
             "dict_type": "an object", "model_type": "an object", "model_attributes_type": "an object",
             "none_required": "null"}
_WORDS = {"missing": "this field is required", "extra_forbidden": "unknown field"}
MAX_REPORTED = 3


def json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else "null"


def _path(loc: Sequence[str | int], body: Any, missing: bool) -> tuple[str | int, ...]:
    steps, here = [], body
    for i, step in enumerate(loc):
        if (isinstance(here, dict) and isinstance(step, str) and step in here) or \
                (isinstance(here, list) and isinstance(step, int) and 0 <= step < len(here)):
            here = cast(Any, here)[step]  # a dict holding the key or a list holding the index, as tested
        elif not (missing and i == len(loc) - 1):
            continue  # a union branch or validator name
        steps.append(step)
    return tuple(steps)


def field_name(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else (f".{s}" if i else s) for i, s in enumerate(path))


def _problem(errors: list[dict]) -> str:
    if all(e["type"] in _EXPECTED for e in errors):
        expected = list(dict.fromkeys(_EXPECTED[e["type"]] for e in errors))
        wanted = expected[0] if len(expected) == 1 else ", ".join(expected[:-1]) + " or " + expected[-1]
        return f"expected {wanted}, got {json_kind(errors[0].get('input'))}"
    first = next(e for e in errors if e["type"] not in _EXPECTED)
    return _WORDS.get(first["type"]) or first["msg"].removeprefix("Value error, ")


def describe(errors: Sequence[dict], body: Any) -> tuple[str, str | None, str]:
    """(message, param, code) for FastAPI's RequestValidationError errors and the body it parsed."""
    if errors and errors[0]["type"] == "json_invalid":
        doc = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
        pos = errors[0]["loc"][-1] if isinstance(errors[0]["loc"][-1], int) else 0
        line, column = doc.count("\n", 0, pos) + 1, pos - doc.rfind("\n", 0, pos)
        reason = (errors[0].get("ctx") or {}).get("error", "invalid JSON")
        return f"the request body is not valid JSON: {reason} at line {line}, column {column}", None, "invalid_json"
    located = [(_path(e["loc"][1:] if e["loc"][:1] == ("body",) else e["loc"], body, e["type"] == "missing"), e)
               for e in errors]
    # a union branch that matched the shape and failed deeper says more than the branches that did not match
    paths = [p for p, _ in located]
    located = [(p, e) for p, e in located
               if not (e["type"] in _EXPECTED and any(len(q) > len(p) and q[:len(p)] == p for q in paths))]
    grouped: dict[tuple, list[dict]] = {}
    for p, e in located:
        grouped.setdefault(p, []).append(e)
    parts = []
    for p, errs in list(grouped.items())[:MAX_REPORTED]:
        if p:
            parts.append(f"{field_name(p)}: {_problem(errs)}")
        elif errs[0]["type"] == "missing":
            parts.append("the request needs a JSON body")
        else:
            parts.append(f"the request body: {_problem(errs)}")
    first = next(iter(grouped), ())
    return "; ".join(parts) or "invalid request", field_name(first) or None, "invalid_request"
