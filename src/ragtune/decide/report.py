"""The decision report a manager reads: the framework's answer, the bake-off table and the cost curves,
in one Markdown file and one self-contained HTML page."""

from __future__ import annotations

import re
from pathlib import Path

from ragtune.cost import report as cost_report
from ragtune.cost.model import CostInputs, estimate
from ragtune.cost.prices import PriceBook
from ragtune.decide.engine import Decision
from ragtune.decide.render import decision_markdown, quality_figure

GLOSSARY = """## Reading this report

- **RAG** (retrieval-augmented generation): the model answers from passages retrieved from your documents at
  question time. **Fine-tuning**: the model is re-trained on example answers. **Fine-tuned RAG**: both.
  **Few-shot prompting**: worked examples in the prompt, no training.
- **95% interval**: the range the true score likely lies in, given how many questions were asked. Two variants
  whose difference interval spans zero have not been shown to differ.
- The recommendation follows the guide "LLM Fine-Tuning vs RAG: When to Use Which" (April 2026); where this
  team's measurements disagree with its rules of thumb, the report says which it follows and why.
"""


def build(decision: Decision, book: PriceBook, cost_inputs: CostInputs) -> tuple[str, dict[str, str]]:
    """The report's Markdown (with figure placeholders) and its figures as SVG."""
    ev = decision.evidence
    inputs = cost_inputs.model_copy(update={"inference_per_query": {**cost_inputs.inference_per_query,
                                                                    **(ev.per_query if ev else {})}})
    costs = estimate(inputs, book)
    figs = quality_figure(ev) if ev else {}
    figs |= cost_report.figures(costs, inputs)
    source = f"the bake-off in `{ev.source}`" if ev else "no bake-off (rules of thumb only)"
    md = "\n".join([
        f"# Decision report: {decision.label}", "",
        f"From the team's answers to the guide's questions, {source}, and prices as of {book.as_of}.", "",
        decision_markdown(decision, figures=True),
        cost_report.markdown(costs, inputs, book.as_of),
        f"[figure: {cost_report.CURVES}]", "", f"[figure: {cost_report.BREAKDOWN}]", "",
        GLOSSARY])
    return md, figs


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def write(out_dir: Path, decision: Decision, book: PriceBook, cost_inputs: CostInputs) -> tuple[Path, Path]:
    """decision.html with the figures inline; decision.md links them as SVG files in figures/."""
    from ragtune.reporting.html import render_html

    md, figs = build(decision, book, cost_inputs)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    linked = md
    for name, svg in figs.items():
        (out_dir / "figures" / f"{_slug(name)}.svg").write_text(svg, encoding="utf-8")
        linked = linked.replace(f"[figure: {name}]", f"![{name}](figures/{_slug(name)}.svg)")
    md_path, html_path = out_dir / "decision.md", out_dir / "decision.html"
    md_path.write_text(linked, encoding="utf-8")
    html_path.write_text(render_html(f"Decision report: {decision.label}", md, figs), encoding="utf-8")
    return md_path, html_path
