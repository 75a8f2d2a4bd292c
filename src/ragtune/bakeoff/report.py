"""The bake-off's report: a Markdown table a reader can diff, and an HTML page with the plots."""

from __future__ import annotations

from ragtune.bakeoff.judge_summary import JudgeSanity
from ragtune.bakeoff.results import QUALITY, BakeoffResults, PairedComparison


def _delta(d: PairedComparison | None) -> str:
    if d is None or d.diff is None:
        return "–"
    return (f"{d.text()} p={d.p_value:.3f}" + ("" if d.p_holm is None else f" Holm p={d.p_holm:.3f}")
            + ("" if d.mdd is None else f" detectable ±{d.mdd:.2f}"))


def _verdict(d: PairedComparison, baseline: str) -> str:
    holm = "" if d.p_holm is None else f" (Holm p {d.p_holm:.3f})"
    if d.differs():
        return f"differs from {baseline}{holm}"
    if d.told_apart:
        return (f"its interval excludes 0, but not after Holm's correction for the run's comparisons{holm}: "
                f"cannot be told apart from {baseline} at this size")
    return f"cannot be told apart from {baseline} at this size{holm}"


def _power_lines(results: BakeoffResults) -> list[str]:
    """Per comparison, with RAG, the strongest untrained variant and the strongest tuned one: what the run could
    have detected, and whether the two can be told apart."""
    untrained = " (the strongest untrained variant)"
    groups = [("rag", untrained if results.best_untrained == "rag" else "", results.paired_vs_rag)]
    if results.best_untrained not in (None, "rag"):
        groups.append((str(results.best_untrained), untrained, results.paired_vs_best_untrained))
    if results.best_tuned is not None:
        groups.append((results.best_tuned, " (the strongest tuned variant)", results.paired_vs_best_tuned))
    lines = []
    for baseline, strongest, comparisons in groups:
        found = [(name, paired.f1) for name, paired in comparisons.items() if paired.f1.diff is not None]
        if found:
            lines += ["", f"Against {baseline}{strongest}:", ""]
        for name, d in found:
            detectable = ("too few questions to estimate the smallest detectable difference" if d.mdd is None else
                          f"smallest F1 difference detectable with 80% power at these {d.n} questions: {d.mdd:.2f}")
            lines.append(f"- {name}: F1 {d.text()}, {_verdict(d, baseline)}; {detectable}.")
    if not lines:
        return []
    return ["", "What this run can tell apart (paired on the same questions; Holm p: the permutation test's p-value "
            "adjusted over every comparison the run makes; detectable difference: (z_0.975 + z_0.8) × sd of the "
            "per-question differences / √n, two-sided alpha 0.05, normal approximation):", *lines]


def _best_untrained_line(results: BakeoffResults) -> list[str]:
    best = results.best_untrained
    if best is None:
        return []
    return ["", f"Strongest untrained variant: **{best}** ({results.variants[best].metrics.f1.text()} F1; the best "
                "of base, fewshot, rag and fewshot+rag in this run). A tuned model is worth its training only when "
                "it beats this one: see `F1 vs best untrained`."]


def _tuned_line(results: BakeoffResults) -> list[str]:
    if not results.tuned_models:
        return []
    return ["", "Tuned models: " + ", ".join(f"{label} = {model}" for label, model in results.tuned_models.items())
            + " (each measured as LABEL, without retrieval, and LABEL+rag)."]


NO_JUDGE = ("No LLM judge in this run: lexical metrics only (add one with --judge-base-url and --judge-model "
            "to grade answers by meaning).")


def _lenient_line(s: JudgeSanity) -> list[str]:
    if not s.lenient:
        return []
    return ["", f"**Warning: the judge passes answers that share no word with the reference** (it called only "
                f"{s.unrelated.text()} of them not correct): its verdicts should not be used to rank the variants; "
                "rank them by the lexical metrics."]


def _judge_lines(results: BakeoffResults) -> list[str]:
    """The judge's verdicts per variant, how it was asked, its sanity check and its ranking against F1's."""
    j = results.judge
    if j is None:
        return ["", NO_JUDGE]
    s, rank = j.sanity, j.ranking
    lines = ["", f"## LLM judge: {j.setup.model} at {j.setup.base_url or 'the default endpoint'} "
                 f"(prompt version {j.setup.prompt_version})", "",
             "| variant | judge correct | judge supported | F1 | judge correct vs rag |", "|---|---|---|---|---|"]
    for name, v in results.variants.items():
        paired = results.paired_vs_rag.get(name)
        lines.append(f"| {name} | {v.metrics.judge_correct.text()} | {v.metrics.judge_supported.text()} | "
                     f"{v.metrics.f1.text()} | "
                     + ("(baseline)" if name == "rag" else _delta(paired.judge_correct if paired else None)) + " |")
    tau = "–" if rank.kendall_tau is None else f"{rank.kendall_tau:+.2f}"
    f1 = {n: v.metrics.f1.mean for n, v in results.variants.items()}
    judged = {n: v.metrics.judge_correct.mean for n, v in results.variants.items()}
    lines += ["", "Rubric (the judge answers with JSON verdicts):", "", *(f"> {line}" for line in j.setup.rubric.splitlines()),
              "", f"Sanity: of the answers with exact match 1 the judge called {s.exact.text()} correct (should be "
                  f"all); of the empty answers and refusals it called {s.empty.text()} not correct (should be all); "
                  f"of the other answers sharing no word with the reference it called {s.unrelated.text()} not "
                  f"correct (should be nearly all: a right paraphrase can share none). "
                  f"{s.unparsed} of {s.judged} judgments could not be read and are left out.",
              *_lenient_line(s),
              "", f"Ranking by F1: {', '.join(rank.by_f1)}; by the judge: {', '.join(rank.by_judge)} "
                  f"(Kendall's tau {tau})."]
    if rank.disagreements:
        lines += ["", "They disagree on: " + "; ".join(
            f"{a} (F1 {f1[a]:.2f}, judge {judged[a]:.2f}) above {b} (F1 {f1[b]:.2f}, judge {judged[b]:.2f}) by F1, "
            "below it by the judge" for a, b in rank.disagreements)
            + ". Where they differ, compare the recall and contains columns (F1 marks down a right answer said in "
              "a sentence, which a judge accepts) and read those answers in answers.jsonl, where each judgment "
              "keeps the judge's reply."]
    elif rank.by_f1:
        lines += ["", "The judge and F1 rank the variants alike."]
    return lines


def markdown(results: BakeoffResults) -> str:
    q = results.questions
    head = ["variant", "model", "F1", "EM", "recall", "contains", "faithfulness", "citations", "refusal P", "refusal R",
            "p50 ms", "p95 ms", "prompt tok", "answer tok", "$ / 1k q", "F1 vs rag", "F1 vs best untrained"]
    lines = [f"# Bake-off: {q.n} questions ({q.answerable} answerable, {q.unanswerable} unanswerable)",
             "", "Quality metrics: mean [bootstrap 95% interval]. `F1 vs rag` and `F1 vs best untrained`: paired "
             "difference on the same questions [95% interval], a sign-flip permutation test's p-value, that "
             "p-value Holm-adjusted over every comparison of the run, and the smallest difference the run could "
             "detect (80% power).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    if tuned := sorted({v.retriever for v in results.variants.values() if v.retriever not in (None, "project")}):
        lines[-2:-2] = [f"Retrieval variants retrieved with {', '.join(tuned)}, not the project's retriever.", ""]
    for name, v in results.variants.items():
        m = v.metrics
        paired = results.paired_vs_rag.get(name)
        vs_best = results.paired_vs_best_untrained.get(name)
        lines.append("| " + " | ".join([
            name, v.model, m.f1.text(), m.exact_match.text(), m.reference_recall.text(), m.containment.text(),
            m.faithfulness.text(),
            m.citation_correctness.text(), m.refusal_precision.text(), m.refusal_recall.text(),
            f"{v.latency_ms.p50:.0f}", f"{v.latency_ms.p95:.0f}", f"{v.tokens.prompt_mean:.0f}",
            f"{v.tokens.completion_mean:.0f}", f"{v.cost_per_1k_queries:.4f}",
            "(baseline)" if name == "rag" else _delta(paired.f1 if paired else None),
            "(strongest untrained)" if name == results.best_untrained else _delta(vs_best.f1 if vs_best else None)])
            + " |")
    best = max(results.variants.items(), key=lambda kv: kv[1].metrics.f1.mean or 0)
    lines += _best_untrained_line(results) + _tuned_line(results) + _power_lines(results)
    lines += _judge_lines(results)
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
