"""The bake-off's own report (report.md, report.html, the terminal table) on results produced by running the
bake-off on the fakes (tests/unit/bakeoff_fixture.py), with every number worked out by hand."""

from html import unescape

from ragtune.bakeoff.report import html, markdown
from ragtune.bakeoff.results import read_results


def test_report_shows_recall_containment_and_what_the_run_can_tell_apart(bakeoff_results):
    results = read_results(bakeoff_results(ft="better", ftrag="unclear"))
    md = markdown(results)
    assert "| variant | model | F1 | EM | recall | contains | faithfulness |" in md
    # every scripted reply is the reference or a wrong answer sharing none of its tokens, so recall and
    # containment equal EM: rag is right on 10 of 20 answerable questions
    rag = results.variants["rag"].metrics
    assert rag.reference_recall.mean == 0.5 and rag.containment.mean == 0.5
    rag_row = next(line for line in md.splitlines() if line.startswith("| rag |"))
    assert rag_row.count(rag.containment.text()) >= 3  # EM, recall and contains

    # ft better: differences +1 on q10..q15, 0 on the other 14: mean 0.3, sd (n - 1) = sqrt(4.2 / 19);
    # (1.959964 + 0.841621) * 0.470162 / sqrt(20) = 0.2945
    ft = results.paired_vs_rag["ft"].f1
    assert round(ft.mdd, 4) == 0.2945 and ft.told_apart
    assert (f"- ft: F1 {ft.text()}, differs from rag; smallest F1 difference detectable with 80% power at these "
            "20 questions: 0.29.") in md
    # ft+rag unclear: -1 on q0, +1 on q10, 0 elsewhere: mean 0, sd = sqrt(2 / 19); 2.801585 * 0.324443 / sqrt(20) = 0.2032
    unclear = results.paired_vs_rag["ft+rag"].f1
    assert round(unclear.mdd, 4) == 0.2032 and not unclear.told_apart
    assert (f"- ft+rag: F1 {unclear.text()}, cannot be told apart from rag at this size; smallest F1 difference "
            "detectable with 80% power at these 20 questions: 0.20.") in md
    assert f"{unclear.text()} p={unclear.p_value:.3f} detectable ±0.20 |" in md
    assert "(z_0.975 + z_0.8) × sd of the per-question differences / √n" in md
    assert "cannot be told apart from rag at this size" in unescape(html(results))
