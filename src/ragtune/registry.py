"""Name -> component class registries. Built-ins register with the same decorator a plugin uses;
plugins from other packages are found through the ``ragtune.<kind>`` entry-point group."""

from __future__ import annotations

import dataclasses
import typing
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar, cast

from pydantic import ConfigDict, PydanticSchemaGenerationError, PydanticUserError, TypeAdapter, ValidationError

from ragtune.errors import RagtuneError

T = TypeVar("T")
C = TypeVar("C", bound=type)


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._classes: dict[str, type[T]] = {}
        self._plugins_loaded = False

    def register(self, name: str):
        def decorate(cls: C) -> C:
            cast(Any, cls).type_name = name  # what to_dict() writes as "type"
            self._classes[name] = cls
            return cls

        return decorate

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=f"ragtune.{self.kind}"):
            self._classes.setdefault(ep.name, ep.load())

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._classes)

    def classes(self) -> dict[str, type[T]]:
        """Every registered class by name, in registration order (built-ins, then plugins)."""
        self._load_plugins()
        return dict(self._classes)

    def get(self, name: str) -> type[T]:
        self._load_plugins()
        if name not in self._classes:
            raise RagtuneError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
        return self._classes[name]

    def create(self, name: str, **params: Any) -> T:
        return self.get(name)(**params)

    def from_dict(self, data: dict[str, Any]) -> T:
        """The component a saved config names, its parameters checked against the types its fields declare
        first: a dataclass takes any value, and a wrong one would fail only when it is used (a model loaded,
        minutes later), or not at all."""
        if "type" not in data:
            raise RagtuneError(f"{self.kind} config needs a 'type' key, got {data!r}")
        cls = self.get(data["type"])
        params, wrong = {}, []
        for name, value in data.get("params", {}).items():
            check = _field_check(cast(type, cls), name)
            try:
                params[name] = value if check is None else check.validate_python(value)
            except ValidationError as e:
                wrong.append(f"{name}: {e.errors()[0]['msg']}, got {value!r}")
        if wrong:
            raise RagtuneError(f"bad parameters for {self.kind} {data['type']!r}: {'; '.join(wrong)}")
        return cls(**params)


@cache
def _field_check(cls: type, name: str) -> TypeAdapter | None:
    """What checks and converts a value for ``cls``'s field ``name`` (lax: "4" is 4, a list a tuple); None when
    nothing can: not a declared field (the constructor names it), or a type pydantic has no schema for."""
    if not dataclasses.is_dataclass(cls) or name not in {f.name for f in dataclasses.fields(cls) if f.init}:
        return None
    try:
        return TypeAdapter(typing.get_type_hints(cls)[name], config=ConfigDict(arbitrary_types_allowed=True))
    except (PydanticSchemaGenerationError, PydanticUserError):
        return None
