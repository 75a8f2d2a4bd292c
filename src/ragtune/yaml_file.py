"""A user's YAML file that must hold a mapping (answers, cost inputs, prices), with errors that name it."""

from __future__ import annotations

from pathlib import Path

import yaml

from ragtune.errors import RagtuneError


def read_mapping(path: Path, what: str, expected: str) -> dict:
    """``what`` names the file in messages ("price file"); ``expected`` describes its shape."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise RagtuneError(f"cannot read {what} {path}: {e}") from None
    if not isinstance(data, dict):
        raise RagtuneError(f"{what} {path}: expected {expected}")
    return data
