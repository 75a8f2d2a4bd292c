"""A decision in Markdown: the recommendation, the chain of reasons, the measurements, caveats and next steps."""

from __future__ import annotations

from ragtune.decide.engine import Decision
from ragtune.decide.evidence import PROMPTS, Evidence, comparison_text, paired_f1, score, vs_best
from ragtune.decide.rules import load_rules

QUALITY_FIGURE = "Answer quality (F1) per variant, with 95% intervals"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def measurements(ev: Evidence, heading: str = "###") -> str:
    results = ev.results
    best = results.best_untrained
    lines = [f"{heading} What the bake-off measured", "",
             f"{ev.questions} held-out questions (`{ev.source}`, {ev.created or 'undated'}). F1: token overlap with "
             "the reference answer, 0 to 1, with its 95% bootstrap interval. *vs RAG* and *vs strongest untrained*: "
             "the paired difference on the same questions [95% interval], its p-value Holm-adjusted over the run's "
             "comparisons, and the smallest difference the run could detect (80% power). A difference counts when "
             "the interval excludes 0 and the adjusted p is under 0.05; otherwise the two cannot be told apart.", ""]
    if best:
        lines += [f"Strongest untrained variant: **{best}**, {PROMPTS[best]}. Fine-tuning is recommended only when "
                  "a tuned variant beats it.", ""]
    lines += ["| variant | model | F1 [95% interval] | F1 vs RAG | F1 vs strongest untrained | p50 latency | "
              "$ per 1,000 queries |", "|---|---|---|---|---|---:|---:|"]
    for name, v in results.variants.items():
        vs_rag = "(baseline)" if name == "rag" else comparison_text(paired_f1(results, name))
        vs_strongest = "(itself)" if name == best else comparison_text(vs_best(results, name))
        cost = next((ev.per_query[a] for a, n in ev.approaches.items() if n == name), v.cost_per_1k_queries / 1000)
        lines.append(f"| {_cell(name)} | {_cell(v.model)} | {score(v.metrics.f1)} | {vs_rag} | {vs_strongest} | "
                     f"{v.latency_ms.p50:,.0f} ms | ${1000 * cost:.4f} |")
    return "\n".join(lines + _tuned_lines(ev)) + "\n"


def _tuned_lines(ev: Evidence) -> list[str]:
    """With several tuned variants: each against the strongest untrained variant and against the one decide
    weighs (of those that beat the strongest untrained variant, the largest F1 gain over it)."""
    weighed, best = ev.texts.get("tuned"), ev.results.best_untrained
    if weighed is None or len(ev.tuned) < 2:
        return []
    paired = ev.results.schema_version >= 2  # version 1 pairs no tuned variants
    lines = ["", f"Tuned variants, paired on the same questions with {best} and with **{weighed}**, the one weighed "
                 f"(of those that beat {best}, the largest F1 gain over it; if none does, the closest):", ""]
    for t in ev.tuned:
        line = f"- {t.variant} ({_cell(t.model)}, F1 {t.f1}): {_apart(t.vs_best_untrained, best)}"
        if t.vs_weighed == "same":
            line += " (weighed)"
        elif paired:
            line += f"; against {weighed} F1 {t.vs_weighed_text}, {_apart(t.vs_weighed, weighed)}"
        lines.append(line + ".")
    if not paired:
        lines += ["", "These results (schema version 1) do not pair the tuned variants with each other: re-run the "
                      "bake-off to tell them apart."]
    return lines


def _apart(verdict: str, other: str | None) -> str:
    return {"better": f"measurably better than {other}", "worse": f"measurably worse than {other}",
            "unclear": f"cannot be told apart from {other}"}.get(verdict, f"not paired with {other}")


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
    if d.ship:
        lines += [f"**Ship:** {d.ship.text()}.", ""]
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
