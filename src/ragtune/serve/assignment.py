"""A/B assignment: a request that names no model gets a variant by a stable hash of its subject (the
request's ``user``, else the API key), so one user always sees one variant while the weights stay put."""

from __future__ import annotations

import hashlib

from ragtune.errors import RagtuneError


def position(subject: str) -> float:
    """The subject's fixed point in [0, 1): the first 8 bytes of its SHA-256, uniform over subjects."""
    return int.from_bytes(hashlib.sha256(subject.encode("utf-8")).digest()[:8], "big") / 2**64


def assign(subject: str, weights: dict[str, float]) -> str:
    """The variant whose share of [0, 1) holds the subject's position. Variants are laid out in name order,
    so the outcome does not depend on how the config happens to list them."""
    live = sorted((name, w) for name, w in weights.items() if w > 0)
    total = sum(w for _, w in live)
    if total <= 0:
        raise RagtuneError("no variant has a weight above 0")
    point, edge = position(subject) * total, 0.0
    for name, w in live:
        edge += w
        if point < edge:
            return name
    return live[-1][0]  # float rounding can leave the very top of the range uncovered


def subject_id(subject: str) -> str:
    """What the log records for a subject: a digest, so the assignment is auditable without storing user ids."""
    return hashlib.sha256(subject.encode("utf-8")).hexdigest()[:16]
