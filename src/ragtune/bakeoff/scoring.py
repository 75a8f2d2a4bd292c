"""A bake-off's scores from its answer rows: each variant's metrics with bootstrap intervals, refusal
precision and recall, latency, tokens and cost, and every variant paired against RAG and against the strongest
untrained variant on the same questions, every tuned variant against the strongest tuned one, with
Holm-adjusted p-values. Per-question values average a question's
repeats first, so repeats add precision, not weight."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ragtune.bakeoff.results import Latency, MetricInterval, Paired, PairedComparison, QualityMetrics, Tokens, VariantResult
from ragtune.bakeoff.statistics import holm, mean_interval, paired_difference, ratio
from ragtune.cost.prices import PriceBook
from ragtune.evaluation.answer_metrics import percentile
from ragtune.evaluation.qa import QARow, per_question, refusal_outcomes

METRIC_OF: dict[str, Callable[[QARow], float | bool | None]] = {
    "exact_match": lambda r: r.exact_match, "f1": lambda r: r.f1,
    "reference_recall": lambda r: r.reference_recall, "containment": lambda r: r.containment,
    "faithfulness": lambda r: r.supported, "citation_correctness": lambda r: r.citation_correct,
    "judge_correct": lambda r: r.judgment.correct if r.judgment else None,
    "judge_supported": lambda r: r.judgment.supported if r.judgment else None}
PAIRED = ("f1", "exact_match")
JUDGED = ("judge_correct",)
"""Paired as well when the run had a judge (otherwise they would add empty tests to the Holm family)."""
UNTRAINED = ("base", "fewshot", "rag", "fewshot+rag")
"""The variants that need no training: a tuned model is worth it only when it beats the best of them."""


def metric_interval(rows: list[QARow], metric: str) -> MetricInterval:
    return MetricInterval(**mean_interval(list(per_question(rows, METRIC_OF[metric]).values())))


def refusal_intervals(rows: list[QARow]) -> tuple[MetricInterval, MetricInterval]:
    """(precision, recall) with "should refuse" (an unanswerable question) as the positive class:
    precision over the questions refused, recall over the unanswerable ones."""
    refused, should, both = refusal_outcomes(rows)
    return MetricInterval(**ratio(both, refused)), MetricInterval(**ratio(both, should))


def score_variant(rows: list[QARow], prices: PriceBook, model: str, retrieval: bool) -> VariantResult:
    """One variant's scores; cost prices ``model`` with the book (hosted by tokens, self-hosted by seconds)."""
    precision, recall = refusal_intervals(rows)
    seconds = [r.seconds for r in rows]
    prompt = float(np.mean([r.prompt_tokens for r in rows]))
    completion = float(np.mean([r.completion_tokens for r in rows]))
    per_query = float(np.mean(seconds))
    return VariantResult(
        model=model, retrieval=retrieval, n=len({r.id for r in rows}),
        metrics=QualityMetrics(exact_match=metric_interval(rows, "exact_match"), f1=metric_interval(rows, "f1"),
                               reference_recall=metric_interval(rows, "reference_recall"),
                               containment=metric_interval(rows, "containment"),
                               faithfulness=metric_interval(rows, "faithfulness"),
                               citation_correctness=metric_interval(rows, "citation_correctness"),
                               refusal_precision=precision, refusal_recall=recall,
                               judge_correct=metric_interval(rows, "judge_correct"),
                               judge_supported=metric_interval(rows, "judge_supported")),
        latency_ms=Latency(p50=percentile(seconds, 50) * 1000, p95=percentile(seconds, 95) * 1000,
                           mean=per_query * 1000),
        tokens=Tokens(prompt_mean=prompt, completion_mean=completion),
        seconds_per_query=per_query,
        cost_per_1k_queries=1000 * prices.measured_per_query(model, prompt, completion, per_query))


def paired(rows: list[QARow], baseline: list[QARow], metric: str) -> PairedComparison:
    """mean(rows - baseline) on the questions both answered: positive when ``rows`` scores higher."""
    a, b = per_question(rows, METRIC_OF[metric]), per_question(baseline, METRIC_OF[metric])
    common = [q for q in a if q in b]
    return PairedComparison(**paired_difference([a[q] for q in common], [b[q] for q in common]))


def paired_metrics(rows_by_variant: dict[str, list[QARow]]) -> tuple[str, ...]:
    """The metrics a run compares: F1 and EM, and the judge's correctness when something was judged."""
    judged = any(METRIC_OF["judge_correct"](r) is not None for rows in rows_by_variant.values() for r in rows)
    return PAIRED + JUDGED if judged else PAIRED


def paired_against(rows_by_variant: dict[str, list[QARow]], baseline: str | None = "rag",
                   metrics: tuple[str, ...] = PAIRED) -> dict[str, Paired]:
    """Every other variant against ``baseline``; empty when the baseline was not run."""
    if baseline not in rows_by_variant:
        return {}
    base = rows_by_variant[baseline]
    return {name: Paired(**{m: paired(rows, base, m) for m in metrics})
            for name, rows in rows_by_variant.items() if name != baseline}


def _mean_f1(rows_by_variant: dict[str, list[QARow]], names) -> dict[str, float]:
    """Mean F1 of each of ``names`` (in their order) that was run and scored."""
    f1 = {n: per_question(rows_by_variant[n], METRIC_OF["f1"]) for n in names if n in rows_by_variant}
    return {n: float(np.mean(list(v.values()))) for n, v in f1.items() if v}


def best_untrained(rows_by_variant: dict[str, list[QARow]]) -> str | None:
    """The untrained variant of this run with the highest mean F1 (a tie goes to the first in ``UNTRAINED``,
    the simpler one); None when none of them was run or scored."""
    means = _mean_f1(rows_by_variant, UNTRAINED)
    return max(means, key=lambda n: means[n], default=None)


def best_tuned(rows_by_variant: dict[str, list[QARow]]) -> str | None:
    """The tuned variant (any but the untrained ones) with the highest mean F1 (a tie goes to the first run), the
    one the others are paired with to tell the tuned models apart; None with fewer than two scored."""
    means = _mean_f1(rows_by_variant, [n for n in rows_by_variant if n not in UNTRAINED])
    return max(means, key=lambda n: means[n]) if len(means) > 1 else None


@dataclass
class Comparisons:
    vs_rag: dict[str, Paired]
    best_untrained: str | None
    vs_best_untrained: dict[str, Paired]
    best_tuned: str | None = None
    vs_best_tuned: dict[str, Paired] = field(default_factory=dict)


def compare(rows_by_variant: dict[str, list[QARow]]) -> Comparisons:
    """Every variant against RAG and against the strongest untrained variant, and every tuned variant against the
    strongest tuned one. p-values are Holm-adjusted over the distinct comparisons: one stored twice (RAG is the
    strongest) or mirrored (RAG against base, base against RAG) is one test, counted once."""
    best, metrics = best_untrained(rows_by_variant), paired_metrics(rows_by_variant)
    tuned = best_tuned(rows_by_variant)
    made = Comparisons(paired_against(rows_by_variant, "rag", metrics), best,
                       paired_against(rows_by_variant, best, metrics), tuned,
                       paired_against({n: r for n, r in rows_by_variant.items() if n not in UNTRAINED}, tuned, metrics))
    family: dict[tuple[frozenset[str], str], list[PairedComparison]] = {}
    for baseline, group in (("rag", made.vs_rag), (best, made.vs_best_untrained), (tuned, made.vs_best_tuned)):
        for name, p in group.items():
            for m in metrics:
                family.setdefault((frozenset((name, str(baseline))), m), []).append(getattr(p, m))
    tests = list(family.values())
    adjusted = holm([t[0].p_value for t in tests])
    for i, same in enumerate(tests):
        for c in same:
            c.p_holm = adjusted[i]
    return made
