"""The base every swappable component shares: a cheap validated dataclass constructor, heavy state
loaded lazily once, and a plain-dict round trip so a run can be reproduced from its saved config."""

from __future__ import annotations

import dataclasses
from typing import Any


class Component:
    """Subclasses are dataclasses; fields with ``init=False`` hold lazily loaded state."""

    type_name: str = ""

    def to_dict(self) -> dict[str, Any]:
        params = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        return {"type": self.type_name, "params": params}
