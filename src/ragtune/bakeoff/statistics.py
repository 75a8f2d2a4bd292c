"""Bootstrap confidence intervals and paired comparisons (scipy's implementations), seeded so a
re-run reports the same intervals; and the power arithmetic that says how small a difference a run of
this many questions could have detected."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

RESAMPLES = 2000
SEED = 0
POWER = 0.8
ALPHA = 0.05


def interval(statistic: Callable[..., float], *samples: Sequence[float], confidence: float = 0.95) -> dict:
    """``statistic`` over paired samples (one value per question each), with a percentile bootstrap
    interval. Mean None when there is nothing to measure."""
    arrays = [np.asarray(s, dtype=float) for s in samples]
    n = len(arrays[0]) if arrays else 0
    if n == 0:
        return {"mean": None, "low": None, "high": None, "n": 0}
    value = float(statistic(*arrays))
    if n == 1 or all(np.all(a == a[0]) for a in arrays):
        return {"mean": value, "low": value, "high": value, "n": n}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate resamples (e.g. no positives) are expected on tiny sets
        res = stats.bootstrap(arrays, statistic, paired=True, vectorized=False, n_resamples=RESAMPLES,
                              confidence_level=confidence, method="percentile", random_state=SEED)
    # percentiles of the resampled statistics, skipping resamples where it is undefined (a ratio
    # whose resample drew no denominator), which scipy's own interval would turn into NaN
    tail = (1 - confidence) / 2 * 100
    low, high = np.nanpercentile(res.bootstrap_distribution, [tail, 100 - tail])
    return {"mean": value, "low": float(low), "high": float(high), "n": n}


def mean_interval(values: Sequence[float]) -> dict:
    return interval(np.mean, values)


def ratio(numerator: Sequence[float], denominator: Sequence[float]) -> dict:
    """sum(numerator) / sum(denominator) over questions, e.g. refusal precision; resampled as pairs."""
    def stat(a, b):
        return float(np.sum(a) / np.sum(b)) if np.sum(b) else float("nan")

    if not np.sum(denominator):
        return {"mean": None, "low": None, "high": None, "n": 0}
    return interval(stat, numerator, denominator)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: the i-th smallest (from 0) of m is multiplied by
    m - i, kept at least the previous one's adjusted value, and capped at 1. Written out because scipy has
    only Benjamini-Hochberg (``false_discovery_control``) and statsmodels is not a dependency for one line."""
    m = len(p_values)
    adjusted = {}
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda j: p_values[j])):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return [adjusted[i] for i in range(m)]


def _z_sum(power: float, alpha: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))


def minimum_detectable_difference(diffs: Sequence[float], power: float = POWER, alpha: float = ALPHA) -> float | None:
    """The smallest true mean of paired differences that a two-sided test at ``alpha`` would find with
    probability ``power`` on this many questions, by the normal approximation:
    (z_{1-alpha/2} + z_{power}) * sd(diffs) / sqrt(n), sd with n - 1 degrees of freedom (1.96 + 0.84 = 2.80
    at the defaults). None below two questions or when every difference is the same: with no spread to
    estimate, the approximation would claim any difference detectable."""
    d = np.asarray(diffs)
    sd = float(np.std(d, ddof=1)) if len(d) > 1 else 0.0
    if sd == 0.0:
        return None
    return _z_sum(power, alpha) * sd / math.sqrt(len(d))


def questions_needed(effect: float, sd: float, power: float = POWER, alpha: float = ALPHA) -> int:
    """Paired questions for ``minimum_detectable_difference`` to reach ``effect`` when the differences have
    standard deviation ``sd``: the same formula solved for n, rounded up."""
    return math.ceil((_z_sum(power, alpha) * sd / effect) ** 2)


def paired_difference(a: Sequence[float], b: Sequence[float]) -> dict:
    """mean(a - b) over the same questions: bootstrap interval, a two-sided sign-flip permutation test's
    p-value, and the minimum detectable difference (``mdd``) at 80% power, alpha 0.05."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)  # type: ignore[assignment]  # same numbers
    diff = interval(lambda x, y: np.mean(x - y), a, b)
    out = {"diff": diff["mean"], "low": diff["low"], "high": diff["high"], "p_value": 1.0, "n": len(a),
           "mdd": minimum_detectable_difference(a - b)}  # type: ignore[operator]  # arrays since the line above
    if len(a) < 2 or np.all(a == b):
        return out
    test = stats.permutation_test((a, b), lambda x, y: np.mean(x - y), permutation_type="samples",
                                  n_resamples=RESAMPLES, random_state=SEED, vectorized=False)
    return {**out, "p_value": float(test.pvalue)}
