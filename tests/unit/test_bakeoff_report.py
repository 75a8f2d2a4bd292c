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


def _with_judge(results, judged: dict[str, float]):
    """``results`` as if a judge had found each variant's answers correct at the rate ``judged``."""
    from ragtune.bakeoff.judge_summary import Agreement, JudgeSanity, JudgeSetup, JudgeSummary, rank_agreement
    from ragtune.bakeoff.results import MetricInterval

    for name, v in results.variants.items():
        v.metrics.judge_correct = MetricInterval(mean=judged[name], low=judged[name] - 0.1, high=judged[name], n=20)
    ranking = rank_agreement({n: v.metrics.f1.mean for n, v in results.variants.items()}, judged)
    sanity = JudgeSanity(exact=Agreement(n=40, agree=38), empty=Agreement(n=4, agree=4), judged=60, unparsed=3)
    results.judge = JudgeSummary(setup=JudgeSetup(model="qwen-judge", base_url="http://127.0.0.1:8080/v1"),
                                 sanity=sanity, ranking=ranking)
    return results


def test_report_shows_the_judge_its_sanity_check_and_where_it_ranks_unlike_f1(bakeoff_results, tmp_path):
    from ragtune.bakeoff.results import write_results

    results = read_results(bakeoff_results(ft="better", ftrag="unclear"))
    assert "No LLM judge in this run: lexical metrics only" in markdown(results)
    # F1: base 0.05, fewshot 0.10, rag 0.50, ft 0.80, ft+rag 0.50; the judge puts base first
    results = _with_judge(results, {"base": 0.9, "fewshot": 0.1, "rag": 0.5, "ft": 0.8, "ft+rag": 0.5})
    write_results(results, tmp_path)
    assert read_results(tmp_path) == results  # the judge's setup, sanity and ranking round-trip
    md = markdown(results)
    assert "No LLM judge" not in md
    assert "## LLM judge: qwen-judge at http://127.0.0.1:8080/v1 (prompt version 1)" in md
    assert "| base | 0.90 [0.80, 0.90] | – | 0.05 [" in md
    assert "> correct: true when the answer gives the same fact as the reference answer" in md
    assert ("of the answers with exact match 1 the judge called 38/40 (95%) correct (should be all); of the empty "
            "answers and refusals it called 4/4 (100%) not correct (should be all). 3 of 60 judgments could not be "
            "read and are left out.") in md
    # 10 pairs: the 4 with base disagree, the rag / ft+rag tie (0.5 both ways) is no disagreement: (5 - 4) / 9.49
    assert "Ranking by F1: ft, rag, ft+rag, fewshot, base; by the judge: base, ft, rag, ft+rag, fewshot" in md
    assert results.judge and results.judge.ranking.kendall_tau is not None
    assert f"(Kendall's tau {results.judge.ranking.kendall_tau:+.2f})" in md
    assert ("They disagree on: ft (F1 0.80, judge 0.80) above base (F1 0.05, judge 0.90) by F1, below it by the "
            "judge; rag (F1 0.50, judge 0.50) above base") in md
    alike = markdown(_with_judge(results, {"base": 0.0, "fewshot": 0.1, "rag": 0.5, "ft": 0.8, "ft+rag": 0.5}))
    assert "The judge and F1 rank the variants alike." in alike


def test_results_written_before_the_judge_still_read(bakeoff_results):
    from ragtune.bakeoff.results import parse_results

    data = read_results(bakeoff_results(ft="better", ftrag="unclear")).to_dict()
    data.pop("judge")
    for v in data["variants"].values():
        del v["metrics"]["judge_correct"], v["metrics"]["judge_supported"]
    for p in data["paired_vs_rag"].values():
        p.pop("judge_correct")
    old = parse_results(data, "old.json")
    assert old.judge is None and old.variants["rag"].metrics.judge_correct.n == 0
    assert old.paired_vs_rag["ft"].judge_correct is None and "No LLM judge" in markdown(old)
