import pytest

from ragtune.serve.rate_limit import RateLimiter


def test_token_bucket_allows_a_burst_then_the_steady_rate():
    limiter = RateLimiter()
    # 60 per minute = one per second, burst of 2
    assert limiter.take("k", 60, 2, now=0.0) == 0.0
    assert limiter.take("k", 60, 2, now=0.0) == 0.0
    assert limiter.take("k", 60, 2, now=0.0) == pytest.approx(1.0)   # empty: a whole token to wait for
    assert limiter.take("k", 60, 2, now=0.5) == pytest.approx(0.5)   # half refilled
    assert limiter.take("k", 60, 2, now=1.0) == 0.0
    assert limiter.take("k", 60, 2, now=1.0) == pytest.approx(1.0)
    assert limiter.take("other", 60, 2, now=1.0) == 0.0              # keys have separate buckets
    # a long pause refills only up to the burst
    assert [limiter.take("k", 60, 2, now=100.0) == 0.0 for _ in range(3)] == [True, True, False]
