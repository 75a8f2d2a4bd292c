"""What a bake-off measured, as facts the evidence table tests: quality differences with their intervals,
latency, and cost per query re-priced with the price book."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ragtune.bakeoff.results import RESULTS_FILE, BakeoffResults, MetricInterval, PairedComparison, VariantResult
from ragtune.bakeoff.results import read_results as read_bakeoff
from ragtune.cost.breakeven import BreakEven, break_even
from ragtune.cost.model import CostInputs, estimate
from ragtune.cost.prices import APPROACHES, PriceBook
from ragtune.errors import RagtuneError

MISSING = "missing"


@dataclass
class Evidence:
    source: str
    created: str
    questions: int
    results: BakeoffResults
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


def read_results(bakeoff_dir: Path) -> BakeoffResults:
    """The bake-off's results, which must include RAG: the baseline every comparison needs."""
    results = read_bakeoff(bakeoff_dir)
    if "rag" not in results.variants:
        raise RagtuneError(f"{Path(bakeoff_dir) / RESULTS_FILE}: the bake-off has no 'rag' variant, the baseline "
                           "every comparison needs")
    return results


def interval(d: PairedComparison | None) -> str:
    return "not measured" if d is None or d.diff is None else d.text()


def score(m: MetricInterval | None) -> str:
    return "not measured" if m is None or m.mean is None else m.text()


def paired_verdict(d: PairedComparison | None) -> str:
    """better / worse when the 95% interval of the paired difference excludes zero, else unclear."""
    if d is None or d.diff is None:
        return MISSING
    return "better" if d.low > 0 else "worse" if d.high < 0 else "unclear"  # type: ignore[operator]  # set with diff


def unpaired_verdict(a: MetricInterval | None, b: MetricInterval | None) -> str:
    """a against b from their own intervals: only non-overlapping intervals count, a conservative test
    used where the bake-off reports no paired difference."""
    if a is None or b is None or a.mean is None or b.mean is None:
        return MISSING
    return "better" if a.low > b.high else "worse" if a.high < b.low else "unclear"  # type: ignore[operator]  # set with mean


def variant_per_query(v: VariantResult, book: PriceBook, bakeoff_prices: dict[str, dict]) -> float:
    """The variant's measured tokens or seconds at the price book's prices, so --prices applies to the
    measurement too. A hosted model only the bake-off priced (``bakeoff_prices``: its price entries by
    model) keeps the bake-off's cost."""
    if v.model in book.models:
        price = book.models[v.model]
        if price.input_per_m is not None:
            return price.per_query(v.tokens.prompt_mean, v.tokens.completion_mean)
        return v.seconds_per_query * price.hardware_per_hour / 3600  # type: ignore[operator]  # one kind of price is set
    if v.model in bakeoff_prices:
        return v.cost_per_1k_queries / 1000
    return v.seconds_per_query * book.self_hosted_per_hour / 3600


def paired_f1(results: BakeoffResults, name: str) -> PairedComparison | None:
    paired = results.paired_vs_rag.get(name)
    return paired.f1 if paired else None


def read_evidence(bakeoff_dir: Path, book: PriceBook, queries_per_month: float,
                  cost_inputs: CostInputs | None = None) -> Evidence:
    results = read_results(bakeoff_dir)
    variants = results.variants
    per_query = {n: variant_per_query(v, book, results.prices.models) for n, v in variants.items()
                 if n in APPROACHES}
    f1 = {n: v.metrics.f1 for n, v in variants.items()}
    p50 = {n: v.latency_ms.p50 for n, v in variants.items()}
    facts = {"bakeoff": True,
             "ft_vs_rag": paired_verdict(paired_f1(results, "ft")),
             "ftrag_vs_rag": paired_verdict(paired_f1(results, "ft+rag")),
             "ft_vs_fewshot": unpaired_verdict(f1.get("ft"), f1.get("fewshot")),
             "ft_cheaper": per_query["ft"] < per_query["rag"] if "ft" in per_query else MISSING,
             "ft_faster": p50["ft"] < p50["rag"] if "ft" in p50 else MISSING}
    unclear = [n for n in variants if n not in ("rag", "base")
               and paired_verdict(paired_f1(results, n)) == "unclear"]
    facts["unclear"] = bool(unclear)
    texts = {"ft_vs_rag": interval(paired_f1(results, "ft")),
             "ftrag_vs_rag": interval(paired_f1(results, "ft+rag")),
             "ft_f1": score(f1.get("ft")), "fewshot_f1": score(f1.get("fewshot")),
             "rag_per_1k": f"${1000 * per_query['rag']:.4f}", "rag_p50": f"{p50['rag']:,.0f} ms",
             "unclear_list": ", ".join(f"{n} vs rag (F1 {interval(paired_f1(results, n))})" for n in unclear)}
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
    return Evidence(str(bakeoff_dir), results.created, results.questions.n, results, per_query, facts, texts, be)
