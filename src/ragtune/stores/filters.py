"""One small filter syntax for every store: ``key=value``, ``key!=value``, ``key in a,b,c``,
``key>=v`` (also >, <, <=) on numbers and ISO dates. Conditions are ANDed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypeGuard

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
    raw: tuple[str, ...] = field(default=(), compare=False)  # the values as typed: "4.0" must also match metadata stored as text

    def alternatives(self) -> list[MetaValue]:
        """Typed values plus their text forms, for = != in: metadata written as "4.0" in YAML is a
        string while 4.0 is a number, and a user typing either means the same thing."""
        typed = list(self.value) if isinstance(self.value, tuple) else [self.value]
        return typed + [r for r in self.raw if r not in typed]


def is_date(value: object) -> TypeGuard[str]:
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
        types = {type(v) for v in values}
        if bool in types and types & {int, float}:
            raise RagtuneError(f"filter {expr!r}: the values after 'in' cannot mix true/false with numbers")
        if {int, float} <= types:  # numbers compare as numbers; stores want one type per list
            values = tuple(float(v) if type(v) is int else v for v in values)
        raws = tuple(v.strip() for v in m.group(5).split(",") if v.strip())
        return Condition(m.group(1), "in", values, raws)
    key, op, raw = m.group(1), m.group(2), m.group(3)
    if raw == "":
        raise RagtuneError(f"filter {expr!r} has no value")
    value = parse_value(raw)
    if op in RANGE_OPS and not ((isinstance(value, (int, float)) and not isinstance(value, bool))
                                or is_date(value)):
        raise RagtuneError(f"filter {expr!r}: {op} compares numbers or ISO dates (YYYY-MM-DD), got {raw!r}")
    return Condition(key, op, value, () if op in RANGE_OPS else (raw.strip(),))


def parse_filters(exprs: list[str] | tuple[str, ...] | None) -> list[Condition]:
    return [parse_filter(e) for e in exprs or ()]
