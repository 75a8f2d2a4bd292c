"""The token bucket, kept in the serve state (SQLite here): the same known allowances the in-memory bucket gave,
and two handles on one database draw on one allowance, as two replicas on one Postgres do."""

import pytest

from ragtune.serve.rate_limit import Limit, default_burst, limit_for
from ragtune.serve.state_sql import connect


@pytest.fixture
def state(tmp_path):
    return connect("sqlite:///state.db", tmp_path)


def test_token_bucket_allows_a_burst_then_the_steady_rate(state):
    limit = Limit(60, 2)  # one per second, burst of 2
    assert state.take("k", limit, 0.0) == 0.0
    assert state.take("k", limit, 0.0) == 0.0
    assert state.take("k", limit, 0.0) == pytest.approx(1.0)   # empty: a whole token to wait for
    assert state.take("k", limit, 0.5) == pytest.approx(0.5)   # half refilled
    assert state.take("k", limit, 1.0) == 0.0
    assert state.take("k", limit, 1.0) == pytest.approx(1.0)
    assert state.take("other", limit, 1.0) == 0.0              # keys have separate buckets
    # a long pause refills only up to the burst
    assert [state.take("k", limit, 100.0) == 0.0 for _ in range(3)] == [True, True, False]


def test_a_clock_that_steps_back_refills_nothing(state):
    limit = Limit(60, 1)
    assert state.take("k", limit, 10.0) == 0.0
    assert state.take("k", limit, 5.0) == pytest.approx(1.0)   # 5 s "earlier": still empty, no negative refill
    assert state.take("k", limit, 10.5) == pytest.approx(0.5)  # measured from the latest time seen


def test_two_handles_on_one_database_share_the_allowance(tmp_path):
    a, b = connect("sqlite:///state.db", tmp_path), connect(f"sqlite:///{tmp_path / 'state.db'}", tmp_path)
    limit = Limit(60, 3)
    assert [s.take("k", limit, 0.0) == 0.0 for s in (a, b, a, b)] == [True, True, True, False]


def test_full_buckets_are_pruned_and_start_full_again(state):
    limit = Limit(60, 2)
    state.take("k", limit, 0.0)
    state.take("k", limit, 0.0)
    state.prune(None, now=1.0)                                  # still refilling: kept
    assert state.take("k", limit, 1.0) == 0.0 and state.take("k", limit, 1.0) == pytest.approx(1.0)
    state.prune(None, now=10.0)                                 # full by then: gone, and it starts full again
    assert [state.take("k", limit, 10.0) == 0.0 for _ in range(3)] == [True, True, False]


def test_which_limit_applies():
    assert default_burst(5) == 1 and default_burst(60) == 1 and default_burst(61) == 2 and default_burst(600) == 10
    assert limit_for(5, None, 600, 20) == Limit(5, 1)        # a key's own rate never takes the server's burst
    assert limit_for(5, 3, 600, 20) == Limit(5, 3)
    assert limit_for(None, None, 600, 20) == Limit(600, 20)
    assert limit_for(None, None, 600, None) == Limit(600, 10)
    assert limit_for(None, 4, 600, 20) == Limit(600, 4)
