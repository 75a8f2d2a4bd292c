"""Per-key rate limits: a token bucket per key, in memory (one server process). In any t seconds a key gets
at most ``burst + rate × t`` requests. Hand-written: it is a dozen lines and must say when the next request
would be allowed (Retry-After) on a clock tests can set; ``limits`` offers only window strategies (no burst
size) on its own clock, and pyrate-limiter's buckets keep a log per window rather than a burst."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


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


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, time of last update)
        self._lock = threading.Lock()

    def take(self, key: str, limit: Limit) -> float:
        """Spend one request of ``key``'s allowance: 0.0 if allowed, else the seconds until one would be.
        The bucket holds up to ``limit.burst`` requests and refills at ``limit.per_minute`` / 60 per second."""
        now, rate, burst = self._clock(), limit.per_minute / 60.0, float(limit.burst)
        with self._lock:
            tokens, last = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate
