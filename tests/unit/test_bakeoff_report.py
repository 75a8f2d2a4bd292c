"""The bake-off's own report (report.md, report.html, the terminal table) on results produced by running the
bake-off on the fakes (tests/unit/bakeoff_fixture.py), with every number worked out by hand."""

from html import unescape

import pytest

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
    assert ft.p_holm > 0.05  # 6 wins of 20: exact sign-flip p 2/64, times the comparisons of the run
    assert (f"- ft: F1 {ft.text()}, its interval excludes 0, but not after Holm's correction for the run's "
            f"comparisons (Holm p {ft.p_holm:.3f}): cannot be told apart from rag at this size; smallest F1 "
            "difference detectable with 80% power at these 20 questions: 0.29.") in md
    # ft+rag unclear: -1 on q0, +1 on q10, 0 elsewhere: mean 0, sd = sqrt(2 / 19); 2.801585 * 0.324443 / sqrt(20) = 0.2032
    unclear = results.paired_vs_rag["ft+rag"].f1
    assert round(unclear.mdd, 4) == 0.2032 and not unclear.told_apart
    assert (f"- ft+rag: F1 {unclear.text()}, cannot be told apart from rag at this size (Holm p 1.000); smallest F1 "
            "difference detectable with 80% power at these 20 questions: 0.20.") in md
    assert f"{unclear.text()} p=1.000 Holm p=1.000 detectable ±0.20 |" in md
    assert "(z_0.975 + z_0.8) × sd of the per-question differences / √n" in md
    assert "cannot be told apart from rag at this size" in unescape(html(results))
    # rag is the strongest untrained variant here (base 0.05, fewshot 0.10): one comparison list, and the column
    # against the strongest untrained repeats the one against rag
    assert results.best_untrained == "rag" and "Against rag (the strongest untrained variant):" in md
    assert "Strongest untrained variant: **rag** (0.50 [0.30, 0.70] F1" in md
    assert md.count("Against rag") == 1 and "| (baseline) | (strongest untrained) |" in md
    # the two tuned variants, ft (right on q0..q15, 0.80) and ft+rag (q1..q10, 0.50), paired with each other:
    # ft+rag is -1 on q0 and q11..q15, 0 elsewhere: mean -6 / 20
    assert results.best_tuned == "ft" and set(results.paired_vs_best_tuned) == {"ft+rag"}
    tuned = results.paired_vs_best_tuned["ft+rag"].f1
    assert tuned.diff == pytest.approx(-0.3) and tuned.n == 20
    assert md.count("Against ") == 2 and "Against ft (the strongest tuned variant):" in md
    assert f"- ft+rag: F1 {tuned.text()}," in md[md.index("Against ft (the strongest tuned variant):"):]


def test_report_pairs_every_variant_with_the_strongest_untrained_one(bakeoff_results):
    # fewshot right on q0..q13 (0.70) beats rag (0.50): it is the baseline a tuned model must beat
    results = read_results(bakeoff_results(ft="all", ftrag="unclear", fewshot="close"))
    md = markdown(results)
    assert results.best_untrained == "fewshot"
    assert "| F1 vs rag | F1 vs best untrained |" in md
    assert "Strongest untrained variant: **fewshot** (0.70 [0.50, 0.90] F1" in md
    assert "Against rag:" in md and "Against fewshot (the strongest untrained variant):" in md
    ft = results.paired_vs_best_untrained["ft"].f1  # +1 on q14..q19: 6 wins, mean 0.30
    assert ft.diff == 0.3 and ft.told_apart and ft.p_holm > 0.05
    ft_row = next(line for line in md.splitlines() if line.startswith("| ft |"))
    assert ft_row.endswith(f"| {ft.text()} p={ft.p_value:.3f} Holm p={ft.p_holm:.3f} detectable ±{ft.mdd:.2f} |")
    fewshot_row = next(line for line in md.splitlines() if line.startswith("| fewshot |"))
    assert fewshot_row.endswith("| (strongest untrained) |")
    after = md[md.index("Against fewshot"):]
    # ft+rag right on q1..q10 against fewshot's q0..q13: -1 on q0, q11, q12, q13
    ftrag = results.paired_vs_best_untrained["ft+rag"].f1
    assert ftrag.diff == -0.2 and f"- ft+rag: F1 {ftrag.text()}" in after
    vs_rag = results.paired_vs_rag["ft"].f1  # +1 on q10..q19: 10 wins, p about 2/1024, survives Holm
    assert vs_rag.diff == 0.5 and vs_rag.differs()
    assert f"- ft: F1 {vs_rag.text()}, differs from rag (Holm p {vs_rag.p_holm:.3f});" in md


F1 = {"base": 0.05, "fewshot": 0.1, "rag": 0.5, "ft": 0.8, "ft+rag": 0.5}


def _with_judge(results, judged: dict[str, float], unrelated=(10, 9)):
    """``results`` with the F1 means ``F1`` and as if a judge had found each variant's answers correct at the rate
    ``judged``, and called ``unrelated`` = (n, agree) of the answers sharing no word with the reference not
    correct."""
    from ragtune.bakeoff.judge_summary import Agreement, JudgeSanity, JudgeSetup, JudgeSummary, rank_agreement
    from ragtune.bakeoff.results import MetricInterval

    for name, v in results.variants.items():
        v.metrics.f1 = MetricInterval(mean=F1[name], low=max(F1[name] - 0.1, 0.0), high=F1[name] + 0.1, n=20)
        v.metrics.judge_correct = MetricInterval(mean=judged[name], low=judged[name] - 0.1, high=judged[name], n=20)
    ranking = rank_agreement({n: v.metrics.f1.mean for n, v in results.variants.items()}, judged)
    sanity = JudgeSanity(exact=Agreement(n=40, agree=38), empty=Agreement(n=4, agree=4),
                         unrelated=Agreement(n=unrelated[0], agree=unrelated[1]), judged=60, unparsed=3)
    results.judge = JudgeSummary(setup=JudgeSetup(model="qwen-judge", base_url="http://127.0.0.1:8080/v1",
                                                         prompt_version="7"),
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
    assert "## LLM judge: qwen-judge at http://127.0.0.1:8080/v1 (prompt version 7)" in md
    assert "| base | 0.90 [0.80, 0.90] | – | 0.05 [0.00, 0.15] |" in md
    assert "> correct: true when the answer gives the same fact as the reference answer" in md
    assert ("of the answers with exact match 1 the judge called 38/40 (95%) correct (should be all); of the empty "
            "answers and refusals it called 4/4 (100%) not correct (should be all); of the other answers sharing no "
            "word with the reference it called 9/10 (90%) not correct (should be nearly all: a right paraphrase can "
            "share none). 3 of 60 judgments could not be read and are left out.") in md
    assert "Warning" not in md
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


@pytest.mark.parametrize("unrelated, warned", [((5, 3), True), ((10, 7), True), ((5, 4), False), ((4, 0), False)])
def test_report_warns_when_the_judge_passes_answers_sharing_no_word_with_the_reference(bakeoff_results, unrelated,
                                                                                         warned):
    # below 80% of at least 5 such answers called not correct: 3/5, 7/10 warn; 4/5 (80%) and 4 answers do not
    results = _with_judge(read_results(bakeoff_results(ft="better", ftrag="unclear")),
                          {"base": 0.9, "fewshot": 0.1, "rag": 0.5, "ft": 0.8, "ft+rag": 0.5}, unrelated=unrelated)
    md = markdown(results)
    n, agree = unrelated
    warning = (f"**Warning: the judge passes answers that share no word with the reference** (it called only "
               f"{agree}/{n} ({agree / n:.0%}) of them not correct): its verdicts should not be used to rank the "
               "variants; rank them by the lexical metrics.")
    assert (warning in md) is warned
    assert ("Warning" in md) is warned


@pytest.mark.parametrize("schema", ["ragtune.bakeoff/1", "ragtune.bakeoff/2"])
def test_results_judged_before_the_unrelated_answers_were_counted_still_read(bakeoff_results, schema):
    from ragtune.bakeoff.judge_summary import Agreement
    from ragtune.bakeoff.results import parse_results

    results = _with_judge(read_results(bakeoff_results(ft="better", ftrag="unclear")),
                          {"base": 0.9, "fewshot": 0.1, "rag": 0.5, "ft": 0.8, "ft+rag": 0.5})
    data = {**results.to_dict(), "schema": schema}
    del data["judge"]["sanity"]["unrelated"]
    old = parse_results(data, "old.json")
    assert old.judge and old.judge.sanity.unrelated == Agreement(n=0, agree=0) and not old.judge.sanity.lenient
    assert old.judge.sanity.exact == Agreement(n=40, agree=38)
    md = markdown(old)
    assert "of the other answers sharing no word with the reference it called 0/0 not correct" in md
    assert "Warning" not in md


@pytest.mark.parametrize("judge, agree, warned", [("lenient", 0, True), ("by-rule", 61, False)])
def test_a_bakeoff_whose_judge_passes_wrong_answers_says_not_to_rank_by_it(bakeoff_results, judge, agree, warned):
    from ragtune.bakeoff.judge_summary import Agreement

    results = read_results(bakeoff_results(ft="better", ftrag="unclear", judge=judge))
    # the wrong replies ("forty two purple llamas") share no word with any reference ("answer <topic> <i>"):
    # base 19 (right on q0), fewshot 18 (q0, q1), rag 10 (q0..q9), ft 4 (q0..q15), ft+rag 10 (q1..q10); the
    # refusals of the unanswerable questions are not judged
    assert results.judge and results.judge.sanity.unrelated == Agreement(n=61, agree=agree)
    assert results.judge.sanity.empty == Agreement(n=0, agree=0)
    md = markdown(results)
    assert f"of the other answers sharing no word with the reference it called {agree}/61" in md
    assert ("**Warning: the judge passes answers that share no word with the reference**" in md) is warned
