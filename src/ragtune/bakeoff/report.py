"""The bake-off's report: a Markdown table a reader can diff, and an HTML page with the plots."""

from __future__ import annotations

from ragtune.bakeoff.results import QUALITY, BakeoffResults, PairedComparison


def _delta(d: PairedComparison | None) -> str:
    if d is None or d.diff is None:
        return "–"
    return f"{d.text()} p={d.p_value:.3f}" + ("" if d.mdd is None else f" detectable ±{d.mdd:.2f}")


def _power_lines(results: BakeoffResults) -> list[str]:
    """Per comparison with RAG: what the run could have detected, and whether the two can be told apart."""
    lines = []
    for name, paired in results.paired_vs_rag.items():
        d = paired.f1
        if d.diff is None:
            continue
        detectable = ("too few questions to estimate the smallest detectable difference" if d.mdd is None else
                      f"smallest F1 difference detectable with 80% power at these {d.n} questions: {d.mdd:.2f}")
        verdict = "differs from rag" if d.told_apart else "cannot be told apart from rag at this size"
        lines.append(f"- {name}: F1 {d.text()}, {verdict}; {detectable}.")
    if not lines:
        return []
    return ["", "What this run can tell apart (paired with rag on the same questions; detectable difference: "
            "(z_0.975 + z_0.8) × sd of the per-question differences / √n, two-sided alpha 0.05, normal "
            "approximation):", "", *lines]


def markdown(results: BakeoffResults) -> str:
    q = results.questions
    head = ["variant", "model", "F1", "EM", "recall", "contains", "faithfulness", "citations", "refusal P", "refusal R",
            "p50 ms", "p95 ms", "prompt tok", "answer tok", "$ / 1k q", "F1 vs rag"]
    lines = [f"# Bake-off: {q.n} questions ({q.answerable} answerable, {q.unanswerable} unanswerable)",
             "", "Quality metrics: mean [bootstrap 95% interval]. `F1 vs rag`: paired difference on the same "
             "questions [95% interval], a sign-flip permutation test's p-value and the smallest difference the "
             "run could detect (80% power).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    if tuned := sorted({v.retriever for v in results.variants.values() if v.retriever not in (None, "project")}):
        lines[-2:-2] = [f"Retrieval variants retrieved with {', '.join(tuned)}, not the project's retriever.", ""]
    for name, v in results.variants.items():
        m = v.metrics
        paired = results.paired_vs_rag.get(name)
        lines.append("| " + " | ".join([
            name, v.model, m.f1.text(), m.exact_match.text(), m.reference_recall.text(), m.containment.text(),
            m.faithfulness.text(),
            m.citation_correctness.text(), m.refusal_precision.text(), m.refusal_recall.text(),
            f"{v.latency_ms.p50:.0f}", f"{v.latency_ms.p95:.0f}", f"{v.tokens.prompt_mean:.0f}",
            f"{v.tokens.completion_mean:.0f}", f"{v.cost_per_1k_queries:.4f}",
            "(baseline)" if name == "rag" else _delta(paired.f1 if paired else None)]) + " |")
    best = max(results.variants.items(), key=lambda kv: kv[1].metrics.f1.mean or 0)
    lines += _power_lines(results)
    lines += ["", f"Highest F1: **{best[0]}** ({best[1].metrics.f1.text()}).", "",
              "How answers are judged: exact match and token F1 are SQuAD-normalised against the reference, on "
              "answerable questions (a refusal scores 0). Recall is the share of the reference's tokens found in "
              "the answer, and contains the share of answers holding the reference as one contiguous run of "
              "tokens: unlike exact match and F1 they do not mark down a right answer said in a sentence. "
              "Faithfulness: the share of non-refused answers "
              "whose quotes are verbatim passage text and whose final answer's content words (stemmed; "
              "yes/no aside) at least 80% occur in the retrieved passages; citation correctness applies "
              "the same test to the cited passages only. Refusal precision and recall treat 'should "
              "refuse' (an unanswerable question) as the positive class. Cost: hosted models by tokens, "
              "local ones by measured seconds × the machine's hourly price.", ""]
    if results.stages_seconds:
        lines.append("Wall time by stage: " + ", ".join(f"{k} {s:.0f} s" for k, s in results.stages_seconds.items()))
    return "\n".join(lines) + "\n"


def figures(results: BakeoffResults) -> dict[str, str]:
    """SVG plots: quality bars with intervals, quality against latency, quality against cost."""
    from ragtune.reporting.plots import bar_chart_with_intervals, scatter

    variants = results.variants
    names = list(variants)
    bars = {metric: [(m.mean, m.low, m.high) for m in (variants[n].metrics.get(metric) for n in names)]
            for metric in QUALITY}
    f1 = [variants[n].metrics.f1.mean or 0.0 for n in names]
    return {
        "Quality with 95% intervals": bar_chart_with_intervals(names, bars, ylabel="score"),
        "F1 against latency": scatter([variants[n].latency_ms.p50 for n in names], f1, names,
                                      xlabel="p50 latency (ms)", ylabel="F1"),
        "F1 against cost": scatter([variants[n].cost_per_1k_queries for n in names], f1, names,
                                   xlabel="USD per 1,000 queries", ylabel="F1"),
    }


def html(results: BakeoffResults) -> str:
    from ragtune.reporting.html import render_html

    return render_html("ragtune bake-off", markdown(results), figures(results))
