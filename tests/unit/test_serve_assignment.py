import math

import pytest

from ragtune.errors import RagtuneError
from ragtune.serve.assignment import assign, position

USERS = [f"user-{i}" for i in range(20_000)]


def test_one_user_always_gets_one_variant_whatever_the_config_order():
    weights = {"rag": 0.9, "ft+rag:abc": 0.1}
    reordered = {"ft+rag:abc": 0.1, "rag": 0.9}
    first = [assign(u, weights) for u in USERS[:500]]
    assert first == [assign(u, weights) for u in USERS[:500]] == [assign(u, reordered) for u in USERS[:500]]


@pytest.mark.parametrize("weights", [{"rag": 0.9, "ft+rag:abc": 0.1}, {"rag": 85, "base": 5, "ft:x": 10}])
def test_shares_match_the_weights_within_binomial_tolerance(weights):
    total = sum(weights.values())
    counts = dict.fromkeys(weights, 0)
    for u in USERS:
        counts[assign(u, weights)] += 1
    for name, w in weights.items():
        p = w / total
        sd = math.sqrt(len(USERS) * p * (1 - p))
        assert abs(counts[name] - len(USERS) * p) < 4 * sd, (name, counts)


def test_positions_are_uniform():
    # ten equal bins of 20,000 uniform draws: each holds 2,000 ± 4 standard deviations (sd = 42.4)
    bins = [0] * 10
    for u in USERS:
        bins[int(position(u) * 10)] += 1
    assert all(abs(b - 2000) < 170 for b in bins), bins


def test_raising_a_variants_weight_only_moves_users_onto_it():
    before = {u: assign(u, {"rag": 0.9, "ft+rag:abc": 0.1}) for u in USERS[:5000]}
    after = {u: assign(u, {"rag": 0.8, "ft+rag:abc": 0.2}) for u in USERS[:5000]}
    assert all(after[u] == "ft+rag:abc" for u, v in before.items() if v == "ft+rag:abc")
    moved = sum(before[u] != after[u] for u in before)
    assert 0 < moved < 5000 * 0.2


def test_zero_weights_are_never_assigned_and_all_zero_is_an_error():
    assert {assign(u, {"rag": 1.0, "base": 0.0}) for u in USERS[:300]} == {"rag"}
    with pytest.raises(RagtuneError):
        assign("u", {"rag": 0.0})
