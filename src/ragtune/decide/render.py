"""A decision in Markdown: the recommendation, the chain of reasons, the measurements, caveats and next steps."""

from __future__ import annotations

from ragtune.decide.engine import Decision
from ragtune.decide.evidence import Evidence, interval, paired_f1, score
from ragtune.decide.rules import load_rules

QUALITY_FIGURE = "Answer quality (F1) per variant, with 95% intervals"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def measurements(ev: Evidence, heading: str = "###") -> str:
    variants = ev.results.variants
    lines = [f"{heading} What the bake-off measured", "",
             f"{ev.questions} held-out questions (`{ev.source}`, {ev.created or 'undated'}). F1: token overlap with "
             "the reference answer, 0 to 1, with its 95% bootstrap interval. *vs RAG*: the paired difference on the "
             "same questions; an interval that excludes 0 is a real difference, one that spans 0 is not shown.", "",
             "| variant | model | F1 [95% interval] | F1 vs RAG | p50 latency | $ per 1,000 queries |",
             "|---|---|---|---|---:|---:|"]
    for name, v in variants.items():
        vs = "(baseline)" if name == "rag" else interval(paired_f1(ev.results, name))
        cost = ev.per_query.get(name, v.cost_per_1k_queries / 1000)
        lines.append(f"| {_cell(name)} | {_cell(v.model)} | {score(v.metrics.f1)} | {vs} | "
                     f"{v.latency_ms.p50:,.0f} ms | ${1000 * cost:.4f} |")
    return "\n".join(lines) + "\n"


def quality_figure(ev: Evidence) -> dict[str, str]:
    from ragtune.reporting.plots import bar_chart_with_intervals

    variants = ev.results.variants
    f1 = [v.metrics.f1 for v in variants.values()]
    return {QUALITY_FIGURE: bar_chart_with_intervals(list(variants), {"F1": [(m.mean, m.low, m.high) for m in f1]},
                                                     ylabel="F1")}


def decision_markdown(d: Decision, heading: str = "##", figures: bool = False) -> str:
    """``figures``: leave a ``[figure: ...]`` placeholder where the quality chart belongs (HTML reports)."""
    sub = heading + "#"
    lines = [f"{heading} Recommendation: {d.label}", ""]
    if d.overridden:
        said = load_rules().recommendations[d.rules_recommendation]
        lines += [f"**Measured, and followed:** {d.evidence_because}", "",
                  f"**The guide's rules alone said {said}:** {d.because}", ""]
    else:
        lines += [d.because, ""]
        if d.evidence_because:
            lines += [f"**Measurements:** {d.evidence_because}", ""]
        elif d.evidence:
            lines += ["**Measurements:** nothing the bake-off measured contradicts the rules.", ""]
    lines += [f"{sub} Why: each question, the answer, and what it implies", "",
              "| question | answer | what it implies |", "|---|---|---|",
              *(f"| {_cell(r.question)} | {r.answer} | {_cell(r.implies)} |" for r in d.chain), "",
              f"Decided by rule `{d.decided_by}` of the guide's framework (src/ragtune/decide/rules.yaml)"
              + (f", then evidence row `{d.evidence_rule}`." if d.evidence_rule else "."), ""]
    if d.evidence:
        lines.append(measurements(d.evidence, sub))
        if figures:
            lines += [f"[figure: {QUALITY_FIGURE}]", ""]
    if d.caveats:
        lines += [f"{sub} Caveats", "", *(f"- {c}" for c in d.caveats), ""]
    if d.measure_next:
        lines += [f"{sub} What to measure next", "", *(f"- {m}" for m in d.measure_next), ""]
    return "\n".join(lines)
