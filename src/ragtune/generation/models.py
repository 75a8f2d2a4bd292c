"""Short names for the packaged local models; anything else is taken as a GGUF path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ragtune import packaged
from ragtune.errors import RagtuneError

PACKAGED: dict[str, Callable[[], Path]] = {
    "smollm2-135m": packaged.smollm2_gguf,
    "qwen2.5-coder-0.5b": packaged.qwen_gguf,
}


def resolve_gguf(name: str) -> Path:
    if name in PACKAGED:
        return PACKAGED[name]()
    path = Path(name).expanduser()
    if not path.is_file():
        raise RagtuneError(f"model {name!r} is neither a packaged model ({', '.join(PACKAGED)}) "
                           "nor an existing GGUF file")
    return path
