"""One small filter syntax for every store: ``key=value``, ``key!=value``, ``key in a,b,c``,
``key>=v`` (also >, <, <=) on numbers and ISO dates. Conditions are ANDed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ragtune.documents.types import MetaValue
from ragtune.errors import RagtuneError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_EXPR = re.compile(r"^\s*([\w.\-]+)\s*(?:(>=|<=|!=|=|>|<)\s*(.*?)|\s+(in)\s+(.+?))\s*$")
RANGE_OPS = {">", ">=", "<", "<="}


@dataclass(frozen=True)
class Condition:
    key: str
    op: str  # one of = != in > >= < <=
    value: MetaValue | tuple[MetaValue, ...]


def is_date(value: object) -> bool:
    return isinstance(value, str) and bool(_DATE.match(value))


def date_ordinal(value: str) -> int:
    """2026-01-31 -> 20260131: an integer that orders like the date, for stores that compare numbers only."""
    return int(value[:10].replace("-", ""))


def parse_value(text: str) -> MetaValue:
    text = text.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_filter(expr: str) -> Condition:
    m = _EXPR.match(expr)
    if not m:
        raise RagtuneError(f"cannot parse filter {expr!r}; use key=value, key!=value, key in a,b, "
                           "or key>=value (also >, <, <=)")
    if m.group(4):
        values = tuple(parse_value(v) for v in m.group(5).split(",") if v.strip())
        if not values:
            raise RagtuneError(f"filter {expr!r} lists no values after 'in'")
        return Condition(m.group(1), "in", values)
    key, op, raw = m.group(1), m.group(2), m.group(3)
    if raw == "":
        raise RagtuneError(f"filter {expr!r} has no value")
    value = parse_value(raw)
    if op in RANGE_OPS and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                or is_date(value)):
        raise RagtuneError(f"filter {expr!r}: {op} compares numbers or ISO dates (YYYY-MM-DD), got {raw!r}")
    return Condition(key, op, value)


def parse_filters(exprs: list[str] | tuple[str, ...] | None) -> list[Condition]:
    return [parse_filter(e) for e in exprs or ()]
