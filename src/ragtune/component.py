"""The base every swappable component shares: a cheap validated dataclass constructor, heavy state
loaded lazily once (or up front by ``warm_up``), and a plain-dict round trip so a run can be
reproduced from its saved config."""

from __future__ import annotations

import dataclasses
from typing import Any


class Component:
    """Subclasses are dataclasses; fields with ``init=False`` hold lazily loaded state."""

    type_name: str = ""

    def warm_up(self) -> None:
        """Load the heavy state (model weights, a connection) now rather than on first use; calling it
        again does nothing. A server calls it before taking requests. Components with nothing heavy keep
        this default."""

    def to_dict(self) -> dict[str, Any]:
        fields = dataclasses.fields(self)  # type: ignore[arg-type]  # every subclass is a dataclass
        params = {f.name: getattr(self, f.name) for f in fields if f.init}
        return {"type": self.type_name, "params": params}
