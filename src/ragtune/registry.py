"""Name -> component class registries. Built-ins register with the same decorator a plugin uses;
plugins from other packages are found through the ``ragtune.<kind>`` entry-point group."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar, cast

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
        if "type" not in data:
            raise RagtuneError(f"{self.kind} config needs a 'type' key, got {data!r}")
        return self.create(data["type"], **data.get("params", {}))
