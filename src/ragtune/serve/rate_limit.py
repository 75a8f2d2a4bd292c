"""Per-key rate limits: which limit applies to a key. The token bucket itself (in any t seconds a key gets at
most ``burst + rate × t`` requests) is a row per key in the serve state, updated by one atomic statement so
that every replica sharing the state draws on the same allowance (state_sql.SqlState.take). Hand-written:
it must say when the next request would be allowed (Retry-After) on a clock tests can set, across
processes; ``limits`` offers only window strategies (no burst size) on its own clock, and pyrate-limiter's
buckets keep a log per window rather than a burst."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Limit:
    per_minute: float
    burst: int

    def describe(self) -> str:
        return f"{self.per_minute:g} requests per minute (burst {self.burst})"


def default_burst(per_minute: float) -> int:
    """The burst when none is stated: the per-second rate rounded up, at least 1."""
    return max(1, math.ceil(per_minute / 60.0))


def limit_for(key_rate: float | None, key_burst: int | None, server_rate: float, server_burst: int | None) -> Limit:
    """A key's own limit, else the server's. A burst goes with the rate it was stated for: a key with its own
    rate never inherits the server's (larger) burst."""
    if key_rate is not None:
        return Limit(key_rate, key_burst or default_burst(key_rate))
    return Limit(server_rate, key_burst or server_burst or default_burst(server_rate))


class RateBuckets(Protocol):
    """The token buckets, one per key (the serve state)."""

    def take(self, bucket: str, limit: Limit, now: float) -> float:
        """Spend one request of ``bucket``'s allowance at time ``now`` (seconds, the same clock on every
        replica): 0.0 if allowed, else the seconds until one would be. The bucket holds up to ``limit.burst``
        requests and refills at ``limit.per_minute`` / 60 per second."""
        ...
