import pytest

from ragtune.serve.rate_limit import Limit, RateLimiter, default_burst, limit_for


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_the_steady_rate():
    clock = Clock()
    limiter = RateLimiter(clock)
    limit = Limit(60, 2)  # one per second, burst of 2
    assert limiter.take("k", limit) == 0.0
    assert limiter.take("k", limit) == 0.0
    assert limiter.take("k", limit) == pytest.approx(1.0)   # empty: a whole token to wait for
    clock.now = 0.5
    assert limiter.take("k", limit) == pytest.approx(0.5)   # half refilled
    clock.now = 1.0
    assert limiter.take("k", limit) == 0.0
    assert limiter.take("k", limit) == pytest.approx(1.0)
    assert limiter.take("other", limit) == 0.0              # keys have separate buckets
    clock.now = 100.0  # a long pause refills only up to the burst
    assert [limiter.take("k", limit) == 0.0 for _ in range(3)] == [True, True, False]


def test_which_limit_applies():
    assert default_burst(5) == 1 and default_burst(60) == 1 and default_burst(61) == 2 and default_burst(600) == 10
    assert limit_for(5, None, 600, 20) == Limit(5, 1)        # a key's own rate never takes the server's burst
    assert limit_for(5, 3, 600, 20) == Limit(5, 3)
    assert limit_for(None, None, 600, 20) == Limit(600, 20)
    assert limit_for(None, None, 600, None) == Limit(600, 10)
    assert limit_for(None, 4, 600, 20) == Limit(600, 4)
