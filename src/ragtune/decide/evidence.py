"""What a bake-off measured, as facts the evidence table tests: quality differences with their intervals,
latency, and cost per query re-priced with the price book."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ragtune.cost.breakeven import BreakEven, break_even
from ragtune.cost.model import CostInputs, estimate
from ragtune.cost.prices import APPROACHES, PriceBook
from ragtune.errors import RagtuneError

SCHEMA = "ragtune.bakeoff/1"
MISSING = "missing"
_VARIANT_KEYS = ("model", "metrics", "latency_ms", "tokens", "seconds_per_query", "cost_per_1k_queries")


@dataclass
class Evidence:
    source: str
    created: str
    questions: int
    results: dict
    per_query: dict[str, float]
    """Measured USD per query of each approach's generation, priced with the price book."""
    facts: dict = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    """Measurements in words, for the evidence table's explanations."""
    break_even: BreakEven | None = None

    def to_dict(self) -> dict:
        return {"source": self.source, "created": self.created, "questions": self.questions,
                "per_query": self.per_query, "facts": self.facts, "texts": self.texts,
                "break_even": self.break_even.to_dict() if self.break_even else None}


def read_results(bakeoff_dir: Path) -> dict:
    path = Path(bakeoff_dir) / "results.json"
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise RagtuneError(f"cannot read bake-off results {path}: {e}; "
                           f"run 'ragtune bakeoff --out {bakeoff_dir}'") from None
    if not isinstance(results, dict) or results.get("schema") != SCHEMA:
        raise RagtuneError(f"{path}: not a bake-off result (expected schema {SCHEMA!r})")
    variants = results.get("variants")
    if not isinstance(variants, dict) or "rag" not in variants:
        raise RagtuneError(f"{path}: the bake-off has no 'rag' variant, the baseline every comparison needs")
    for name, v in variants.items():
        missing = [k for k in _VARIANT_KEYS if not isinstance(v, dict) or k not in v]
        if missing:
            raise RagtuneError(f"{path}: variant {name!r} lacks {', '.join(missing)} (schema {SCHEMA})")
    return results


def interval(d: dict | None) -> str:
    return "not measured" if not d or d.get("diff") is None else f"{d['diff']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}]"


def score(m: dict | None) -> str:
    return "not measured" if not m or m.get("mean") is None else f"{m['mean']:.2f} [{m['low']:.2f}, {m['high']:.2f}]"


def paired_verdict(d: dict | None) -> str:
    """better / worse when the 95% interval of the paired difference excludes zero, else unclear."""
    if not d or d.get("diff") is None:
        return MISSING
    return "better" if d["low"] > 0 else "worse" if d["high"] < 0 else "unclear"


def unpaired_verdict(a: dict | None, b: dict | None) -> str:
    """a against b from their own intervals: only non-overlapping intervals count, a conservative test
    used where the bake-off reports no paired difference."""
    if not a or not b or a.get("mean") is None or b.get("mean") is None:
        return MISSING
    return "better" if a["low"] > b["high"] else "worse" if a["high"] < b["low"] else "unclear"


def variant_per_query(v: dict, book: PriceBook, bakeoff_prices: dict) -> float:
    """The variant's measured tokens or seconds at the price book's prices, so --prices applies to the
    measurement too. A hosted model only the bake-off priced keeps the bake-off's cost."""
    model = v["model"]
    if model in book.models:
        price = book.models[model]
        if price.input_per_m is not None:
            return price.per_query(v["tokens"]["prompt_mean"], v["tokens"]["completion_mean"])
        return v["seconds_per_query"] * price.hardware_per_hour / 3600
    if model in bakeoff_prices:
        return v["cost_per_1k_queries"] / 1000
    return v["seconds_per_query"] * book.self_hosted_per_hour / 3600


def read_evidence(bakeoff_dir: Path, book: PriceBook, queries_per_month: float,
                  cost_inputs: CostInputs | None = None) -> Evidence:
    results = read_results(bakeoff_dir)
    variants, paired = results["variants"], results.get("paired_vs_rag", {})
    per_query = {n: variant_per_query(v, book, results.get("prices", {})) for n, v in variants.items()
                 if n in APPROACHES}
    f1 = {n: v["metrics"].get("f1") for n, v in variants.items()}
    p50 = {n: v["latency_ms"]["p50"] for n, v in variants.items()}
    facts = {"bakeoff": True,
             "ft_vs_rag": paired_verdict(paired.get("ft", {}).get("f1")),
             "ftrag_vs_rag": paired_verdict(paired.get("ft+rag", {}).get("f1")),
             "ft_vs_fewshot": unpaired_verdict(f1.get("ft"), f1.get("fewshot")),
             "ft_cheaper": per_query["ft"] < per_query["rag"] if "ft" in per_query else MISSING,
             "ft_faster": p50["ft"] < p50["rag"] if "ft" in p50 else MISSING}
    unclear = [n for n in variants if n not in ("rag", "base")
               and paired_verdict(paired.get(n, {}).get("f1")) == "unclear"]
    facts["unclear"] = bool(unclear)
    texts = {"ft_vs_rag": interval(paired.get("ft", {}).get("f1")),
             "ftrag_vs_rag": interval(paired.get("ft+rag", {}).get("f1")),
             "ft_f1": score(f1.get("ft")), "fewshot_f1": score(f1.get("fewshot")),
             "rag_per_1k": f"${1000 * per_query['rag']:.4f}", "rag_p50": f"{p50['rag']:,.0f} ms",
             "unclear_list": ", ".join(f"{n} vs rag (F1 {interval(paired[n]['f1'])})" for n in unclear)}
    if "ft" in variants:  # otherwise the explanations read "not measured" (engine._Text)
        texts |= {"ft_p50": f"{p50['ft']:,.0f} ms", "ft_per_1k": f"${1000 * per_query['ft']:.4f}"}
    be = None
    if "ft" in per_query:
        inputs = (cost_inputs or CostInputs()).model_copy(update={"queries_per_month": queries_per_month,
                                                                  "inference_per_query": per_query})
        costs = estimate(inputs, book, ("rag", "ft"))
        be = break_even(costs["ft"], costs["rag"], inputs.months)
        facts["above_break_even"] = be.cheaper_at(queries_per_month)
        texts["break_even"] = be.threshold_text()
    else:
        facts["above_break_even"] = MISSING
    return Evidence(str(bakeoff_dir), results.get("created", ""), results.get("questions", {}).get("n", 0),
                    results, per_query, facts, texts, be)
