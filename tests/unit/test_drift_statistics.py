"""The drift report's numbers against independent oracles: scipy's one-dimensional energy distance, pairwise
distances from scipy.spatial, exact permutation p-values counted by hand, the Wilson formula written out, and
Fisher's exact test on a table whose hypergeometric probabilities are hand-computed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import cdist

from ragtune.retrain.statistics import (
    MAX_SAMPLE,
    PERMUTATIONS,
    change,
    distances,
    energy,
    energy_test,
    unresembled,
    wilson,
)


def energy_by_hand(x: np.ndarray, y: np.ndarray) -> float:
    return 2 * cdist(x, y).mean() - cdist(x, x).mean() - cdist(y, y).mean()


def test_distances_are_euclidean():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(7, 4))
    assert distances(a) == pytest.approx(cdist(a, a), abs=1e-9)
    same = np.ones((2, 3))  # rounding could make the squared distance of equal rows negative: clipped to 0
    assert np.all(distances(same) == 0)


def test_energy_matches_scipy_in_one_dimension_and_cdist_in_several():
    x, y = np.array([[0.0], [1.0], [3.0]]), np.array([[10.0], [11.5]])
    pooled = np.vstack([x, y])
    value = energy(distances(pooled), np.array([1, 1, 1, 0, 0]))
    assert value == pytest.approx([stats.energy_distance(x[:, 0], y[:, 0]) ** 2])
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(6, 3)), rng.normal(size=(9, 3)) + 0.5
    labels = np.r_[np.ones(6), np.zeros(9)]
    both = energy(distances(np.vstack([a, b])), np.vstack([labels, labels[::-1]]))
    assert both[0] == pytest.approx(energy_by_hand(a, b))
    assert both[1] == pytest.approx(energy_by_hand(np.vstack([a, b])[labels[::-1] == 1],
                                                   np.vstack([a, b])[labels[::-1] == 0]))


def test_exact_permutation_p_value_on_a_hand_countable_example():
    # 4 points, 2 per side: C(4,2) = 6 labellings; {0,1} vs {10,11} and its mirror are the two largest
    t = energy_test(np.array([[0.0], [1.0]]), np.array([[10.0], [11.0]]))
    assert t.statistic == pytest.approx(2 * 10 - 0.5 - 0.5)  # E|X-Y| = 10, E|X-X'| = E|Y-Y'| = 2 * 1 / 4
    assert t.p_value == pytest.approx(2 / 6) and (t.n_x, t.n_y) == (2, 2)


def test_a_clear_shift_reaches_the_smallest_p_value_the_permutations_allow():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 5)), rng.normal(size=(40, 5)) + 3
    t = energy_test(x, y)
    assert t.p_value == pytest.approx(1 / (PERMUTATIONS + 1)) and PERMUTATIONS == 999
    assert t.statistic == pytest.approx(energy_by_hand(x, y))


def test_same_distribution_is_not_significant_and_the_test_is_seeded():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(25, 3)), rng.normal(size=(30, 3)) + 0.35
    first = energy_test(x, y)
    assert first == energy_test(x, y) == energy_test(x, y, seed=0)
    assert energy_test(x, y, seed=5).p_value != first.p_value
    assert 0.001 < first.p_value < 1
    assert energy_test(x[:12], rng.normal(size=(14, 3))).p_value > 0.05
    fewer = energy_test(x, y, permutations=99)
    assert fewer.p_value * 100 == pytest.approx(round(fewer.p_value * 100))  # (hits + 1) / 100


def test_the_p_value_is_scipys_permutation_test_of_the_energy_statistic_computed_naively():
    # the same permutations (same seed, same pooled indices), a statistic written independently per labelling
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(9, 3)), rng.normal(size=(11, 3)) + 0.6
    t = energy_test(x, y, permutations=199, seed=3)
    draw = np.random.default_rng(3)  # the rows' order energy_test draws (it reorders every sample)
    px, py = x[draw.permutation(len(x))], y[draw.permutation(len(y))]
    pooled = np.vstack([px, py])

    def naive(ix, iy):
        return energy_by_hand(pooled[ix], pooled[iy])

    ref = stats.permutation_test((np.arange(9), np.arange(9, 20)), naive, permutation_type="independent",
                                 vectorized=False, n_resamples=199, alternative="greater", random_state=3)
    assert t.p_value == pytest.approx(ref.pvalue) and t.statistic == pytest.approx(ref.statistic)
    assert 0.005 < t.p_value < 0.5  # a case where the permutations matter: neither the floor nor certainty


def test_large_samples_are_drawn_down_to_max_sample_with_the_seed():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(MAX_SAMPLE + 100, 2)), rng.normal(size=(40, 2))
    t = energy_test(x, y, permutations=9)
    assert (t.n_x, t.n_y) == (500, 40) and MAX_SAMPLE == 500
    drawn = x[np.random.default_rng(0).permutation(len(x))[:MAX_SAMPLE]]
    assert t.statistic == pytest.approx(energy_by_hand(drawn, y))


def test_unresembled_questions_are_those_below_the_threshold_to_every_training_question():
    training = np.array([[1.0, 0.0], [0.0, 1.0]])
    recent = np.array([[1.0, 0.0], [math.sqrt(0.5), math.sqrt(0.5)], [-1.0, 0.0], [0.6, 0.8]])
    assert unresembled(recent, training, 0.75).tolist() == [False, True, True, False]
    assert unresembled(recent, training, 0.8).tolist() == [False, True, True, False]  # 0.8 reaches 0.8
    assert unresembled(recent, training, 0.81).tolist() == [False, True, True, True]


def wilson_by_hand(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize(("k", "n"), [(5, 10), (0, 7), (7, 7), (3, 40)])
def test_wilson_interval_is_the_formula(k, n):
    r = wilson(k, n)
    assert (r.k, r.n, r.rate) == (k, n, k / n)
    assert (r.low, r.high) == pytest.approx(wilson_by_hand(k, n))


def test_an_empty_window_has_no_rate():
    r = wilson(0, 0)
    assert (r.k, r.n, r.rate, r.low, r.high) == (0, 0, None, None, None)
    assert change(r, wilson(1, 2)).diff is None and change(wilson(1, 2), r).p_value is None


def test_change_between_windows_is_later_minus_earlier_with_fishers_p_value():
    # [[3, 0], [0, 3]]: the observed table and its mirror each have probability 1/C(6,3) = 1/20
    c = change(wilson(0, 3), wilson(3, 3))
    assert c.diff == pytest.approx(1.0) and c.p_value == pytest.approx(2 / 20)
    d = change(wilson(3, 3), wilson(0, 3))
    assert d.diff == pytest.approx(-1.0)
    # [[1, 3], [3, 1]] (later 1 of 4, earlier 3 of 4): P(a=k) = C(4,k) C(4,4-k) / 70 -> 1, 16, 36, 16, 1;
    # two-sided sums the tables no more likely than the observed one (16): (1 + 16 + 16 + 1) / 70
    e = change(wilson(3, 4), wilson(1, 4))
    assert e.diff == pytest.approx(-0.5) and e.p_value == pytest.approx(34 / 70)
    f = change(wilson(1, 5), wilson(2, 3))  # later 2 of 3, earlier 1 of 5: scipy's own value on the same table
    assert f.p_value == pytest.approx(stats.fisher_exact([[2, 1], [1, 4]]).pvalue) and f.diff == pytest.approx(2 / 3 - 1 / 5)
