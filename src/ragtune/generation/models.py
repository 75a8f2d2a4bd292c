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
SERVED_AS: dict[str, str] = {"smollm2-135m": "Q8_0"}
"""Packaged models that ship as Q4_1, and the type llama.cpp serves them as unless told otherwise
(``generation.requantize``). Qwen ships as Q4_K_M, which llama.cpp's kernels take: not listed, so its header
(5 s to parse) is not read at every start to find nothing to convert."""


def resolve_gguf(name: str) -> Path:
    if name in PACKAGED:
        return PACKAGED[name]()
    path = Path(name).expanduser()
    if not path.is_file():
        raise RagtuneError(f"model {name!r} is neither a packaged model ({', '.join(PACKAGED)}) "
                           "nor an existing GGUF file")
    return path
