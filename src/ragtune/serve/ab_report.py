"""The A/B report: per variant, requests, feedback rates with 95% Wilson intervals, latency percentiles, and
whether its approval rate differs from the control's (Fisher's exact test on up/down counts)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy import stats

ALPHA = 0.05


def wilson(successes: int, n: int) -> dict:
    if n == 0:
        return {"rate": None, "low": None, "high": None, "n": 0}
    ci = stats.binomtest(successes, n).proportion_ci(confidence_level=1 - ALPHA, method="wilson")
    return {"rate": successes / n, "low": float(ci.low), "high": float(ci.high), "n": n}


def report(rows: list[dict], assigned_only: bool = True) -> dict:
    """``rows`` from InteractionLog.rows(). Only A/B-assigned requests compare fairly (a client that names a
    model chose it), so by default the rest are left out. The control is the variant with most requests."""
    by_variant: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r["status"] == 200 and (r["assigned"] or not assigned_only):
            by_variant[r["variant"]].append(r)
    variants = {}
    for name, rs in sorted(by_variant.items()):
        up = sum(r["rating"] == "up" for r in rs)
        down = sum(r["rating"] == "down" for r in rs)
        latency = np.array([r["latency_ms"] for r in rs])
        variants[name] = {"requests": len(rs), "up": up, "down": down,
                          "corrected": sum(bool(r["corrected"]) for r in rs),
                          "feedback_rate": wilson(up + down, len(rs)), "up_rate": wilson(up, up + down),
                          "refusal_rate": wilson(sum(r["refused"] for r in rs), len(rs)),
                          "latency_ms_p50": float(np.percentile(latency, 50)),
                          "latency_ms_p95": float(np.percentile(latency, 95))}
    control = max(variants, key=lambda n: (variants[n]["requests"], n), default=None)
    for name, v in variants.items():
        if name == control:
            v["vs_control"] = None
            continue
        c = variants[str(control)]  # there is a control when there are variants
        if v["up"] + v["down"] == 0 or c["up"] + c["down"] == 0:
            v["vs_control"] = {"p_value": None, "significant": False, "note": "no feedback on one side"}
            continue
        p = float(stats.fisher_exact([[v["up"], v["down"]], [c["up"], c["down"]]]).pvalue)
        v["vs_control"] = {"up_rate_diff": v["up_rate"]["rate"] - c["up_rate"]["rate"], "p_value": p,
                           "significant": p < ALPHA}
    return {"control": control, "assigned_only": assigned_only, "alpha": ALPHA, "variants": variants}
