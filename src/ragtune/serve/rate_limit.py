"""Per-key rate limits: a token bucket per key, in memory (one server process). Hand-written because it is
a dozen lines and must report when the next request would be allowed, for the Retry-After header."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    def __init__(self):
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, time of last update)
        self._lock = threading.Lock()

    def take(self, key: str, per_minute: float, burst: int, now: float | None = None) -> float:
        """Spend one request of ``key``'s allowance: 0.0 if allowed, else the seconds until one would be.
        The bucket holds up to ``burst`` requests and refills at ``per_minute`` / 60 per second."""
        now = time.monotonic() if now is None else now
        rate = per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate
