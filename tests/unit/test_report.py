"""The decision report (Markdown and self-contained HTML) and the shared rendering it is built from."""

import json
import re
import shutil
from html import unescape

import pytest
from typer.testing import CliRunner

from ragtune.bakeoff.results import read_results
from ragtune.cli.app import app
from ragtune.reporting.html import render_html
from ragtune.reporting.plots import bar_chart_with_intervals, line_chart, scatter, stacked_bars
from test_decide_evidence import WORSE, _answers_file

runner = CliRunner()


def _external_references(html: str) -> list[str]:
    """Anything a browser would fetch: src= or href= to another document, CSS url(), @import."""
    return re.findall(r"""(?:src|href)\s*=\s*["'](?!#)[^"']+|url\((?!#)|@import""", html)


def test_report_writes_markdown_and_self_contained_html(bakeoff_results, tmp_path):
    folder = tmp_path / "bakeoff"
    shutil.copytree(bakeoff_results(ft=WORSE), folder)
    paired = read_results(folder).paired_vs_rag["ft"].f1.text()
    assert paired.startswith("-0.30 [")
    answers = _answers_file(tmp_path, behaviour_problem=True, queries_per_month=300_000)
    r = runner.invoke(app, ["report", "--bakeoff", str(folder), "--answers", str(answers), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["recommendation"] == "rag"  # the rules said fine-tuning; the measured loss overrode them
    md = (folder / "decision.md").read_text()
    html = (folder / "decision.html").read_text()
    assert md.startswith("# Decision report: RAG\n") and "<title>Decision report: RAG</title>" in html
    for text in ("Measured, and followed", "The guide's rules alone said fine-tuning", paired,
                 "Why: each question", "What the bake-off measured", "Cost over 12 months at 300,000 queries/month",
                 "Caveats", "What to measure next", "Reading this report"):
        assert text in md and text in unescape(html), text
    assert html.count("<svg") == 3 and not _external_references(html)
    assert "<table>" in html and "[figure:" not in html
    links = re.findall(r"!\[[^]]+\]\((figures/[^)]+\.svg)\)", md)
    assert len(links) == 3 and all((folder / link).read_text().startswith("<svg") for link in links)


def test_report_asks_for_missing_answers_and_writes_where_told(bakeoff_results, tmp_path):
    folder = bakeoff_results()
    r = runner.invoke(app, ["report", "--bakeoff", str(folder), "--out", str(tmp_path / "r")],
                      input="y\nn\nn\n100\n5000\nn\nn\nn\n")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("RAG: wrote")
    assert (tmp_path / "r" / "decision.html").is_file() and not (folder / "decision.html").exists()
    assert "Recommendation: RAG" in (tmp_path / "r" / "decision.md").read_text()


def test_render_html_places_figures_and_escapes_text():
    page = render_html("a <b> report", "# Title\n\nbefore\n\n[figure: one]\n\nafter <script>x</script>\n",
                       {"one": "<svg>1</svg>", "two": "<svg>2</svg>"})
    assert "<title>a &lt;b&gt; report</title>" in page and "<script>" not in page
    assert page.index("<svg>1</svg>") < page.index("after") < page.index("<svg>2</svg>")  # unplaced ones follow
    assert "<figcaption>one</figcaption>" in page


def test_charts_are_inline_svg_and_deterministic():
    bars = {"F1": [(0.4, 0.3, 0.5), (None, None, None)], "EM": [(0.2, 0.1, 0.3), (0.1, 0.05, 0.2)]}
    svg = bar_chart_with_intervals(["rag", "ft"], bars, ylabel="score")
    assert svg.startswith("<svg") and svg == bar_chart_with_intervals(["rag", "ft"], bars, ylabel="score")
    assert svg != bar_chart_with_intervals(["rag", "ft"], {**bars, "F1": [(0.9, 0.8, 1.0), (None, None, None)]})
    for chart in (scatter([1, 2], [0.1, 0.2], ["a", "b"]), stacked_bars(["a", "b"], {"x": [1, 2], "y": [0, 1]}),
                  line_chart([1, 10], {"a": [1, 2]}, log_x=True, markers=[(3, "cross")])):
        assert chart.startswith("<svg") and chart.rstrip().endswith("</svg>") and not _external_references(chart)


@pytest.mark.parametrize("args", [[], ["--bakeoff"]])
def test_report_needs_a_bakeoff(args):
    assert runner.invoke(app, ["report", *args]).exit_code != 0
