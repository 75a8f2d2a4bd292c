"""The numbers the drift report rests on: a two-sample test between question embeddings, the share of questions
no training question resembles, rates with Wilson intervals, and the test between two windows' rates.

Question drift uses the energy distance (Székely & Rizzo) with a permutation test rather than an MMD: it has no
kernel bandwidth to choose (an MMD's answer depends on one, and the median heuristic is itself a guess), it is
consistent against every difference between two distributions, and on unit embeddings its Euclidean distances
are a monotone function of the cosine the rest of ragtune uses. scipy's ``energy_distance`` is one-dimensional
only, so the statistic is written here over a precomputed distance matrix; the permutations, their exact
enumeration on small samples and the p-value are scipy's ``permutation_test``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

PERMUTATIONS = 999
SEED = 0
MAX_SAMPLE = 500
"""Questions drawn (seeded) from each side at most: a permutation costs one product with the pooled distance
matrix, so this bounds a test at about a second on a laptop."""


@dataclass(frozen=True)
class TwoSampleTest:
    statistic: float
    """The energy distance (squared form: 2E|X-Y| - E|X-X'| - E|Y-Y'|, V-statistic means)."""
    p_value: float
    n_x: int
    n_y: int


@dataclass(frozen=True)
class Rate:
    k: int
    n: int
    rate: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class RateChange:
    diff: float | None
    """Later rate minus earlier rate."""
    p_value: float | None
    """Fisher's exact test, two-sided, on the 2x2 table of the two windows; None when a window is empty."""


def distances(pooled: np.ndarray) -> np.ndarray:
    """Euclidean distances between every pair of rows."""
    sq = np.sum(pooled * pooled, axis=1)
    return np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * pooled @ pooled.T, 0.0))


def energy(d: np.ndarray, in_x: np.ndarray) -> np.ndarray:
    """The energy statistic of each labelling: ``d`` the pooled distance matrix, ``in_x`` one row per labelling
    (1 where a pooled point belongs to the first sample). Sums come from one product D z per labelling:
    within x z'Dz, across 1'Dz - z'Dz, within y total - 2 * 1'Dz + z'Dz."""
    z = np.atleast_2d(in_x)
    n = z.sum(axis=1)
    m = len(d) - n
    dz = z @ d
    across_all = dz.sum(axis=1)
    xx = np.sum(dz * z, axis=1)
    xy = across_all - xx
    yy = d.sum() - 2 * across_all + xx
    return 2 * xy / (n * m) - xx / n**2 - yy / m**2


def energy_test(x: np.ndarray, y: np.ndarray, permutations: int = PERMUTATIONS, seed: int = SEED) -> TwoSampleTest:
    """Whether the rows of ``x`` and ``y`` come from one distribution: the energy statistic and the share of
    relabellings of the pooled rows scoring at least as high (exact when there are no more than
    ``permutations`` of them)."""
    rng = np.random.default_rng(seed)
    x, y = (a[rng.permutation(len(a))[:MAX_SAMPLE]] for a in (x, y))  # reordering rows changes no statistic
    pooled = np.vstack([x, y])
    d = distances(pooled)

    # scipy permutes the pooled indices; a labelling is the first sample's. The ``axis`` parameter tells scipy the
    # statistic takes a whole batch of labellings at once (one row each).
    def statistic(ix, iy, axis=-1):
        rows = np.atleast_2d(ix)
        z = np.zeros((rows.shape[0], len(pooled)))
        np.put_along_axis(z, rows, 1.0, axis=1)
        return energy(d, z).reshape(np.shape(ix)[:-1])

    indices = (np.arange(len(x)), np.arange(len(x), len(pooled)))
    res = stats.permutation_test(indices, statistic, permutation_type="independent", n_resamples=permutations,
                                 alternative="greater", random_state=seed)
    return TwoSampleTest(float(res.statistic), float(res.pvalue), len(x), len(y))


def unresembled(recent: np.ndarray, training: np.ndarray, threshold: float) -> np.ndarray:
    """For each recent row, whether no training row reaches ``threshold`` cosine similarity (rows are unit)."""
    return np.max(recent @ training.T, axis=1) < threshold


def wilson(k: int, n: int) -> Rate:
    """k of n, with the 95% Wilson score interval (scipy's; 95% is its default level)."""
    if n == 0:
        return Rate(k, n, None, None, None)
    ci = stats.binomtest(k, n).proportion_ci(method="wilson")
    return Rate(k, n, k / n, float(ci.low), float(ci.high))


def change(earlier: Rate, later: Rate) -> RateChange:
    """How the later window's rate differs from the earlier one's, and whether by more than chance."""
    if earlier.n == 0 or later.n == 0:
        return RateChange(None, None)
    table = [[later.k, later.n - later.k], [earlier.k, earlier.n - earlier.k]]
    return RateChange(later.k / later.n - earlier.k / earlier.n, float(stats.fisher_exact(table).pvalue))
