"""The bake-off's statistics against oracles that do not share its code: hand-rolled bootstraps,
scipy's own percentile interval under the documented recipe (2,000 paired resamples, seed 0), an
exact sign-flip test enumerated with itertools, and scipy's documented Monte-Carlo p-value floor."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from ragtune.bakeoff.statistics import (
    holm,
    interval,
    mean_interval,
    minimum_detectable_difference,
    paired_difference,
    questions_needed,
    ratio,
)

EMPTY = {"mean": None, "low": None, "high": None, "n": 0}


def _recipe(statistic, *samples, confidence=0.95):
    """The interval the architecture documents: scipy's percentile bootstrap, 2,000 paired resamples,
    seed 0. scipy computes this interval itself (from its own bootstrap distribution)."""
    res = stats.bootstrap([np.asarray(s, dtype=float) for s in samples], statistic, paired=True,
                          vectorized=False, n_resamples=2000, confidence_level=confidence,
                          method="percentile", random_state=0)
    return res.confidence_interval.low, res.confidence_interval.high


def _hand_bootstrap(statistic, *samples, resamples=20000, confidence=0.95, seed=7):
    """A percentile bootstrap written out: resample question indices, recompute, take percentiles."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(s, dtype=float) for s in samples]
    n = len(arrays[0])
    values = [statistic(*(a[idx] for a in arrays)) for idx in rng.integers(0, n, (resamples, n))]
    tail = (1 - confidence) / 2 * 100
    return np.nanpercentile(values, [tail, 100 - tail])


def _sign_flip_p(a, b) -> float:
    """Exact two-sided sign-flip test over every one of the 2^n relabellings: twice the smaller
    one-sided tail (scipy's two-sided convention), capped at 1."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    observed = d.mean()
    null = np.array([np.mean(d * np.array(signs)) for signs in itertools.product((1, -1), repeat=len(d))])
    eps = 1e-12
    greater, less = np.mean(null >= observed - eps), np.mean(null <= observed + eps)
    return min(1.0, 2 * min(greater, less))


# --- mean_interval / interval ----------------------------------------------------------------------
def test_mean_interval_is_the_documented_percentile_bootstrap():
    values = np.random.default_rng(3).random(40)
    ci = mean_interval(values)
    low, high = _recipe(np.mean, values)
    assert ci == {"mean": pytest.approx(values.sum() / 40), "low": pytest.approx(low, abs=1e-12),
                  "high": pytest.approx(high, abs=1e-12), "n": 40}
    # and it is what a bootstrap written out by hand converges to
    hand_low, hand_high = _hand_bootstrap(np.mean, values)
    assert ci["low"] == pytest.approx(hand_low, abs=0.01) and ci["high"] == pytest.approx(hand_high, abs=0.01)


def test_a_narrower_confidence_level_gives_the_matching_percentiles():
    values = np.random.default_rng(4).random(30)
    ci = interval(np.mean, values, confidence=0.5)
    low, high = _recipe(np.mean, values, confidence=0.5)
    assert ci["low"] == pytest.approx(low, abs=1e-12) and ci["high"] == pytest.approx(high, abs=1e-12)
    wide = interval(np.mean, values)
    assert wide["low"] < ci["low"] < ci["mean"] < ci["high"] < wide["high"]


def test_intervals_are_reproducible():
    values = np.random.default_rng(5).random(25)
    assert mean_interval(values) == mean_interval(list(values))
    a, b = np.random.default_rng(6).random(25), np.random.default_rng(8).random(25)
    assert paired_difference(a, b) == paired_difference(a, b)


def test_degenerate_samples():
    assert mean_interval([]) == EMPTY
    assert interval(np.mean) == EMPTY  # no samples at all
    assert mean_interval([0.3]) == {"mean": 0.3, "low": 0.3, "high": 0.3, "n": 1}
    assert mean_interval([2, 2, 2, 2]) == {"mean": 2.0, "low": 2.0, "high": 2.0, "n": 4}
    # two different values already have an interval
    two = mean_interval([0.0, 1.0])
    assert two["mean"] == 0.5 and two["low"] == 0.0 and two["high"] == 1.0 and two["n"] == 2


def test_interval_takes_yes_no_samples_as_numbers():
    # booleans (refused or not) are resampled as 0/1, so a statistic may subtract them
    got = interval(lambda x, y: np.mean(x - y), [True, True, False, True], [False, True, False, False])
    assert got["mean"] == pytest.approx(0.5) and got["n"] == 4


# --- ratio -----------------------------------------------------------------------------------------
def test_ratio_is_sum_over_sum_resampled_as_pairs():
    rng = np.random.default_rng(9)
    refused = (rng.random(60) < 0.4).astype(float)
    unanswerable = (rng.random(60) < 0.5).astype(float)
    both = refused * unanswerable
    got = ratio(both, refused)
    assert got["mean"] == pytest.approx(both.sum() / refused.sum()) and got["n"] == 60

    def stat(a, b):
        return a.sum() / b.sum() if b.sum() else np.nan

    low, high = _hand_bootstrap(stat, both, refused)
    assert got["low"] == pytest.approx(low, abs=0.02) and got["high"] == pytest.approx(high, abs=0.02)
    low, high = _recipe(stat, both, refused)
    assert got["low"] == pytest.approx(low, abs=1e-12) and got["high"] == pytest.approx(high, abs=1e-12)


def test_ratio_skips_resamples_without_a_denominator():
    # 7 of 8 questions have no denominator: about a third of resamples draw none; they are skipped,
    # not counted as an infinite ratio
    got = ratio([1] * 8, [1] + [0] * 7)
    assert got["mean"] == 8.0 and np.isfinite(got["high"]) and got["low"] <= 8.0 <= got["high"]


def test_ratio_without_any_denominator_is_not_measured():
    assert ratio([0, 0, 0], [0, 0, 0]) == EMPTY
    assert ratio([], []) == EMPTY


# --- paired_difference -----------------------------------------------------------------------------
def test_paired_difference_sign_and_interval():
    rng = np.random.default_rng(10)
    b = rng.random(50)
    a = np.clip(b + 0.1 + rng.normal(0, 0.05, 50), 0, 1)
    got = paired_difference(a, b)
    assert got["diff"] == pytest.approx(np.mean(a) - np.mean(b)) and got["diff"] > 0 and got["n"] == 50
    low, high = _recipe(lambda x, y: np.mean(x - y), a, b)
    assert got["low"] == pytest.approx(low, abs=1e-12) and got["high"] == pytest.approx(high, abs=1e-12)
    # swapping the sides flips the sign of every number and keeps the p-value
    swapped = paired_difference(b, a)
    assert swapped["diff"] == pytest.approx(-got["diff"])
    assert swapped["low"] == pytest.approx(-got["high"]) and swapped["high"] == pytest.approx(-got["low"])
    assert swapped["p_value"] == pytest.approx(got["p_value"])


@pytest.mark.parametrize("a, b", [
    ([1, 2], [0, 0]),
    ([0.9, 0.1, 0.5, 0.7, 0.3], [0.4, 0.2, 0.5, 0.1, 0.6]),
    ([1, 1, 1, 0, 1, 1, 0, 1], [0, 1, 0, 0, 0, 1, 1, 0]),
    ([0.2, 0.9, 0.4, 0.8, 0.6, 0.5, 0.7, 0.3, 0.95, 0.15], [0.1, 0.5, 0.5, 0.2, 0.6, 0.1, 0.3, 0.4, 0.2, 0.1]),
])
def test_p_value_matches_an_exact_sign_flip_test(a, b):
    # up to 10 questions (1,024 relabellings) scipy enumerates them all, so the p-value is exact
    assert paired_difference(a, b)["p_value"] == pytest.approx(_sign_flip_p(a, b), abs=1e-12)


def test_p_value_is_a_monte_carlo_estimate_over_2000_sign_flips():
    # beyond 2^11 relabellings scipy samples 2,000; its documented estimate (count + 1) / (2000 + 1)
    # per tail has a floor, which a clear 20-question difference reaches
    got = paired_difference([1.0] * 20, [0.0] * 20)
    assert got["p_value"] == pytest.approx(2 / 2001, rel=1e-9)
    # a noisy 14-question comparison lands near the exact test
    rng = np.random.default_rng(11)
    a, b = rng.random(14), rng.random(14)
    assert paired_difference(a, b)["p_value"] == pytest.approx(_sign_flip_p(a, b), abs=0.05)


def test_paired_difference_of_yes_no_outcomes():
    # per-question judgments arrive as booleans
    got = paired_difference([True, True, True, False, True, True], [False, True, False, False, False, True])
    assert got["diff"] == pytest.approx(0.5)
    assert got["p_value"] == pytest.approx(_sign_flip_p([1, 1, 1, 0, 1, 1], [0, 1, 0, 0, 0, 1]))


def test_paired_difference_without_evidence():
    assert paired_difference([0.2, 0.4, 0.6], [0.2, 0.4, 0.6]) == {
        "diff": 0.0, "low": 0.0, "high": 0.0, "p_value": 1.0, "n": 3, "mdd": None}
    # one question cannot be tested (scipy needs two): no evidence, not an error
    assert paired_difference([1.0], [0.0]) == {"diff": 1.0, "low": 1.0, "high": 1.0, "p_value": 1.0, "n": 1,
                                                 "mdd": None}
    assert paired_difference([], []) == {"diff": None, "low": None, "high": None, "p_value": 1.0, "n": 0,
                                         "mdd": None}


# --- what a run of this size could detect ----------------------------------------------------------
Z_80_05 = 1.959964 + 0.841621  # z_{0.975} + z_{0.80}, from a normal table


def test_minimum_detectable_difference_hand_computed():
    # diffs 1, 0, 0, -1: sd (n - 1) = sqrt(2/3), n = 4 -> 2.801585 * 0.816497 / 2
    assert minimum_detectable_difference([1, 0, 0, -1]) == pytest.approx(Z_80_05 * math.sqrt(2 / 3) / 2, abs=1e-5)
    assert minimum_detectable_difference([1, 0, 0, -1]) == pytest.approx(1.143742, abs=1e-5)
    # two questions: sd of (0, 1) is sqrt(1/2), sqrt(n) = sqrt(2) -> half the z sum
    assert minimum_detectable_difference([0.0, 1.0]) == pytest.approx(Z_80_05 / 2, abs=1e-5)
    # 90% power at alpha 0.10: z_{0.95} + z_{0.90} = 1.644854 + 1.281552
    assert minimum_detectable_difference([0.0, 1.0], power=0.9, alpha=0.1) == pytest.approx(
        (1.644854 + 1.281552) / 2, abs=1e-5)
    # no spread to estimate: one question, or every difference the same
    assert minimum_detectable_difference([0.3]) is None
    assert minimum_detectable_difference([]) is None
    assert minimum_detectable_difference([0.5, 0.5, 0.5]) is None


def test_the_minimum_detectable_difference_is_found_80_percent_of_the_time():
    """Simulation oracle: runs of n paired differences whose true mean is the reported minimum detectable
    difference, tested two-sided at 5% with the spread known; about 80% of them must find it."""
    rng = np.random.default_rng(12)
    diffs = rng.normal(0.1, 0.3, 50)
    mdd, sd = minimum_detectable_difference(diffs), np.std(diffs, ddof=1)
    runs = rng.normal(mdd, sd, (40_000, 50))
    found = np.abs(runs.mean(axis=1)) / (sd / math.sqrt(50)) > stats.norm.ppf(0.975)
    assert found.mean() == pytest.approx(0.80, abs=0.01)


def test_paired_difference_reports_its_minimum_detectable_difference():
    got = paired_difference([2, 1, 1, 0], [1, 1, 1, 1])
    assert got["mdd"] == pytest.approx(1.143742, abs=1e-5)
    assert got["diff"] == 0.0 and got["low"] <= 0 <= got["high"]


def test_questions_needed_hand_computed():
    # (2.801585 * 0.4 / 0.1)^2 = 125.58 -> 126 questions to detect 0.1 when the differences' sd is 0.4
    assert questions_needed(0.1, 0.4) == 126
    # (2.801585 * 0.5 / 0.5)^2 = 7.85 -> 8
    assert questions_needed(0.5, 0.5) == 8
    assert questions_needed(0.1, 0.4, power=0.9, alpha=0.1) == math.ceil(((1.644854 + 1.281552) * 4) ** 2)


def test_holm_hand_computed():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04 -> kept non-decreasing: 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.7, 0.8]) == [1.0, 1.0]  # 1.4 capped at 1
    assert holm([0.2]) == [0.2] and holm([]) == []
