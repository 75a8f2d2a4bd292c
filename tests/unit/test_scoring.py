"""Scoring answers, known answers worked out by hand: one row per answer (what it carries from the answer
and the question), the plain summary of ``eval qa``, and a bake-off variant's latency."""

from __future__ import annotations

import pytest

from ragtune.bakeoff.scoring import UNTRAINED, best_tuned, best_untrained, compare, paired_against, score_variant
from ragtune.cost.prices import load_prices
from ragtune.documents.types import Chunk, Hit
from ragtune.evaluation.judge import Judgment
from ragtune.evaluation.qa import QARow, Question, summarize, to_row
from ragtune.rag.answer import Answer
from ragtune.rag.check import Outcome
from ragtune.rag.citations import Citation

HITS = [Hit(Chunk("a#0", "a", 0, "Webhooks retry eight times."), 0.9), Hit(Chunk("b#0", "b", 0, "Refunds."), 0.5)]
CITED = [Citation(1, "a#0", "a", "a.md", "A", 0), Citation(2, "b#0", "b", "b.md", "B", 0, inferred=True)]


def _answer(text="Eight times [1]", refused=False, **kw) -> Answer:
    return Answer("How often?", text, refused, citations=list(CITED), contexts=list(HITS), reason=kw.pop("reason", ""),
                  prompt_tokens=120, completion_tokens=9, retrieve_seconds=0.25, generate_seconds=0.5, **kw)


def test_a_row_carries_the_answer_and_its_judgments():
    q = Question("7", "How often?", "eight times", hidden_doc="")
    seen = []

    def judge(a):
        seen.append(a.text)
        return True, False

    r = to_row(q, _answer(), judge=judge, variant="rag", repeat=2, cached=True)
    assert r.model_dump() == {
        "id": "7", "question": "How often?", "reference": "eight times", "answerable": True, "hidden_doc": None,
        "variant": "rag", "repeat": 2, "answer": "Eight times [1]", "final": "Eight times", "refused": False,
        "reason": "", "check": None, "generated": "", "exact_match": 1.0, "f1": 1.0, "reference_recall": 1.0, "containment": 1.0,
        "supported": True,
        "citation_correct": False, "judgment": None,
        "contexts": ["a#0", "b#0"], "cited": [1], "citations": ["a#0", "b#0"], "prompt_tokens": 120,
        "completion_tokens": 9, "seconds": 0.75, "cached": True}
    assert seen == ["Eight times [1]"]
    # given seconds win over the answer's own; no judge, no verdicts
    r = to_row(q, _answer(), seconds=2.0)
    assert r.seconds == 2.0 and r.supported is None and r.citation_correct is None


def test_a_refusal_is_scored_by_whether_it_should_have_refused():
    hidden = Question("8:hidden", "How often?", "eight times", hidden_doc="a")
    r = to_row(hidden, _answer("I don't know", True, reason="no passage"), judge=lambda a: (True, True))
    assert (r.hidden_doc, r.answerable, r.refused, r.reason, r.final) == ("a", False, True, "no passage", "")
    assert r.exact_match is None and r.f1 is None and r.supported is None and r.citation_correct is None
    assert r.reference_recall is None and r.containment is None


def test_an_answer_the_support_check_refused_is_still_judged_on_what_the_model_wrote():
    q = Question("7", "How often?", "eight times")
    refused = _answer("I don't know", True, reason="unsupported", check=Outcome.refused, generated="Nine times [1]")
    r = to_row(q, refused, judge=lambda a: (False, False))
    assert (r.refused, r.final, r.f1, r.check, r.generated) == (True, "", 0.0, "refused", "Nine times [1]")
    assert (r.supported, r.citation_correct) == (False, False)  # the model answered: faithfulness judges it
    replaced = to_row(q, _answer("Webhooks retry eight times. [1]", check=Outcome.replaced, generated="Nine [1]"),
                      judge=lambda a: (False, True))
    assert (replaced.check, replaced.final, replaced.supported, replaced.citation_correct) == (
        "replaced", "Webhooks retry eight times.", False, True)


def test_a_row_scores_a_sentence_by_recall_and_containment_too():
    q = Question("9", "How long?", "14 days")
    r = to_row(q, _answer("Refunds are accepted within 14 days [1]."))
    # final "Refunds are accepted within 14 days." -> 6 tokens, P = 2/6, R = 1: F1 = (2/3) / (4/3) = 1/2
    assert (r.exact_match, r.f1, r.reference_recall, r.containment) == (0.0, pytest.approx(0.5), 1.0, 1.0)
    r = to_row(q, _answer("Within 14 weeks [1]."))
    assert (r.reference_recall, r.containment) == (0.5, 0.0)


def _row(qid, reference, refused, f1=None, em=None, seconds=1.0, prompt=10, completion=2, recall=None,
         contained=None, judgment=None) -> QARow:
    return QARow(id=qid, question="q", reference=reference, answerable=bool(reference), answer="a", final="a",
                 refused=refused, exact_match=em, f1=f1, reference_recall=recall, containment=contained,
                 prompt_tokens=prompt, completion_tokens=completion, seconds=seconds, judgment=judgment)


def test_summary_hand_computed():
    rows = [_row("1", "x", False, 1.0, 1.0, 0.1, 10, 1, 1.0, 1.0), _row("2", "x", True, 0.0, 0.0, 0.2, 20, 2, 0.0, 0.0),
            _row("3", "x", True, 0.0, 0.0, 0.4, 30, 3, 0.0, 0.0), _row("4", "x", False, 0.5, 0.0, 0.8, 40, 4, 0.75, 1.0),
            _row("5", "", True, seconds=1.6, prompt=50, completion=5), _row("6", "", False, seconds=3.2, prompt=60,
                                                                            completion=6)]
    s = summarize(rows)
    assert s.questions == 6 and s.exact_match == pytest.approx(1 / 4) and s.f1 == pytest.approx(1.5 / 4)
    assert s.reference_recall == pytest.approx(1.75 / 4) and s.containment == pytest.approx(2 / 4)
    assert s.refusal_rate == pytest.approx(3 / 6)
    assert s.false_refusal_rate == pytest.approx(2 / 4)  # 2 and 3 of the 4 answerable ones
    assert s.refusal_precision == pytest.approx(1 / 3) and s.refusal_recall == pytest.approx(1 / 2)
    # seconds 0.1 0.2 0.4 0.8 1.6 3.2: median between 0.4 and 0.8; p95 at rank 4.75 of 0..5
    assert s.latency_p50 == pytest.approx(0.6) and s.latency_p95 == pytest.approx(1.6 + 0.75 * 1.6)
    assert s.prompt_tokens_mean == pytest.approx(35) and s.completion_tokens_mean == pytest.approx(3.5)


def test_summary_without_refusals_or_questions_is_zero_not_undefined():
    s = summarize([_row("1", "x", False, 1.0, 1.0), _row("2", "x", False, 0.5, 0.0)])
    assert s.false_refusal_rate == 0.0 and s.refusal_rate == 0.0
    assert s.refusal_precision is None and s.refusal_recall is None
    only_unanswerable = summarize([_row("1", "", True)])
    assert only_unanswerable.exact_match == 0.0 and only_unanswerable.f1 == 0.0
    assert only_unanswerable.false_refusal_rate == 0.0 and only_unanswerable.refusal_recall == 1.0
    empty = summarize([])
    assert only_unanswerable.reference_recall == 0.0 and only_unanswerable.containment == 0.0
    assert empty.model_dump() == {"questions": 0, "exact_match": 0.0, "f1": 0.0, "reference_recall": 0.0,
                                  "containment": 0.0, "refusal_rate": 0.0,
                                  "false_refusal_rate": 0.0, "refusal_precision": None, "refusal_recall": None,
                                  "latency_p50": 0.0, "latency_p95": 0.0, "prompt_tokens_mean": 0.0,
                                  "completion_tokens_mean": 0.0}


def test_variant_latency_in_milliseconds():
    rows = [_row(str(i), "x", False, 1.0, 1.0, seconds=s) for i, s in enumerate([0.1, 0.2, 0.4, 0.8, 1.6, 3.2])]
    s = score_variant(rows, load_prices(), "m", True)
    assert s.latency_ms.p50 == pytest.approx(600) and s.latency_ms.p95 == pytest.approx(2800)
    assert s.latency_ms.mean == pytest.approx(6300 / 6) and s.seconds_per_query == pytest.approx(6.3 / 6)


def test_paired_is_the_variant_minus_the_baseline():
    # 4 shared questions: the variant scores F1 1, 1, 0.5, 0; RAG 0, 0.5, 0.5, 0: differences 1, 0.5, 0, 0
    variant = [_row(str(i), "x", False, f1, 0.0) for i, f1 in enumerate([1.0, 1.0, 0.5, 0.0])]
    rag = [_row(str(i), "x", False, f1, 0.0) for i, f1 in enumerate([0.0, 0.5, 0.5, 0.0, 1.0])]
    got = paired_against({"rag": rag, "ft": variant})["ft"]
    assert got.f1.diff == pytest.approx(1.5 / 4) and got.f1.n == 4 and got.exact_match.diff == 0.0
    assert 0 <= got.f1.low < got.f1.diff < got.f1.high <= 1.0  # no difference is negative
    # sd of 1, 0.5, 0, 0 (n - 1) = sqrt(0.6875 / 3); (1.959964 + 0.841621) * 0.478714 / sqrt(4)
    assert got.f1.mdd == pytest.approx(0.670578, abs=1e-5)
    assert got.exact_match.mdd is None  # every EM difference 0: no spread to estimate


def test_variant_recall_and_containment_are_means_over_answerable_questions():
    rows = [_row("1", "x", False, 0.4, 0.0, recall=1.0, contained=1.0),
            _row("2", "x", False, 0.2, 0.0, recall=0.5, contained=0.0),
            _row("2", "x", False, 0.2, 0.0, recall=1.0, contained=1.0),  # a repeat: question 2 averages 0.75, 0.5
            _row("3", "x", False, 0.0, 0.0, recall=0.0, contained=0.0),
            _row("4", "", True)]
    m = score_variant(rows, load_prices(), "m", True).metrics
    assert m.reference_recall.mean == pytest.approx(1.75 / 3) and m.reference_recall.n == 3
    assert m.containment.mean == pytest.approx(1.5 / 3) and m.containment.n == 3
    assert m.reference_recall.low < m.reference_recall.mean < m.reference_recall.high
    assert m.get("containment") == m.containment and m.get("reference_recall") == m.reference_recall


def _scored(f1s) -> list[QARow]:
    return [_row(str(i), "x", False, f1, f1) for i, f1 in enumerate(f1s)]


def test_the_strongest_untrained_variant_is_the_best_mean_f1_of_those_run():
    tuned = _scored([1.0, 1.0])  # a tuned variant is never the untrained baseline, however good
    for name in UNTRAINED:
        assert best_untrained({name: _scored([0.0, 0.5]), "ft+rag": tuned}) == name
    assert best_untrained({"base": _scored([0.5, 0.0]), "rag": _scored([0.0, 0.5]), "fewshot": _scored([0.0, 0.25])}) \
        == "base"  # a tie goes to the simpler variant
    assert best_untrained({"ft": tuned}) is None
    assert best_untrained({"rag": [_row("u", "", True)], "base": _scored([0.0])}) == "base"  # rag scored nothing


def test_comparisons_against_the_strongest_untrained_variant_with_holm_adjusted_p_values():
    rows = {"base": _scored([0.0] * 8), "rag": _scored([0, 0, 0, 0, 1, 1, 0, 0]),
            "fewshot+rag": _scored([1, 1, 0, 0, 1, 1, 0, 0]), "ft+rag": _scored([1.0] * 8)}
    made = compare(rows)
    assert made.best_untrained == "fewshot+rag"  # mean F1 0.5 against rag's 0.25 and base's 0
    assert set(made.vs_rag) == {"base", "fewshot+rag", "ft+rag"}
    best = made.vs_best_untrained
    assert set(best) == {"base", "rag", "ft+rag"}
    assert best["ft+rag"].f1.diff == pytest.approx(0.5) and best["rag"].f1.diff == pytest.approx(-0.25)
    assert best["base"].exact_match.diff == pytest.approx(-0.5)
    # ft+rag against rag differs on 6 of 8 questions, all one way: the exact sign-flip p is 2 / 2^6. The run makes
    # 10 distinct tests (3 + 3 variants, 2 metrics; rag against fewshot+rag is fewshot+rag against rag), so
    # Holm multiplies the smallest p-value (this one, on both metrics) by 10
    top = made.vs_rag["ft+rag"]
    assert top.f1.p_value == pytest.approx(2 / 64) and top.exact_match.p_value == pytest.approx(2 / 64)
    assert top.f1.p_holm == pytest.approx(10 * 2 / 64) and top.exact_match.p_holm == pytest.approx(10 * 2 / 64)
    assert best["rag"].f1.p_holm == made.vs_rag["fewshot+rag"].f1.p_holm
    every = [getattr(p, m) for g in (made.vs_rag, best) for p in g.values() for m in ("f1", "exact_match")]
    assert all(c.p_value <= c.p_holm <= 1.0 for c in every)


def test_the_strongest_tuned_variant_is_the_best_mean_f1_of_two_or_more_tuned_ones():
    assert best_tuned({"rag": _scored([1.0, 1.0]), "plain+rag": _scored([0.5, 0.5])}) is None  # nothing to tell apart
    rows = {"rag": _scored([1.0, 1.0]), "a": _scored([0.0, 0.5]), "b": _scored([0.5, 0.5]), "c": _scored([1.0, 0.0])}
    assert best_tuned(rows) == "b"  # 0.5 against a's 0.25; c ties at 0.5 and comes later; rag is untrained
    assert best_tuned({"a": _scored([0.0, 0.5]), "b": [_row("u", "", True)]}) is None  # b scored nothing


def test_tuned_variants_are_paired_with_the_strongest_tuned_one_inside_the_holm_family():
    rows = {"rag": _scored([0.0] * 8), "a+rag": _scored([1.0] * 8), "b+rag": _scored([1, 1, 1, 1, 1, 1, 0, 0])}
    made = compare(rows)
    assert made.best_untrained == "rag" and made.best_tuned == "a+rag" and set(made.vs_best_tuned) == {"b+rag"}
    tuned = made.vs_best_tuned["b+rag"]
    assert tuned.f1.diff == pytest.approx(-0.25) and tuned.f1.high <= 0
    # exact sign-flip p-values: a+rag against rag 2 / 2^8, b+rag against rag 2 / 2^6, b+rag against a+rag 2 / 2^2;
    # 6 distinct tests (3 pairs, 2 metrics; against rag and against the strongest untrained are the same), so
    # Holm multiplies them by 6 (and 5), 4 (and 3), 2 (and 1)
    assert tuned.f1.p_value == pytest.approx(0.5) and tuned.f1.p_holm == pytest.approx(1.0)
    assert made.vs_rag["a+rag"].f1.p_holm == pytest.approx(6 * 2 / 256)
    assert made.vs_rag["b+rag"].exact_match.p_holm == pytest.approx(4 * 2 / 64)
    assert made.vs_best_untrained["b+rag"].f1.p_holm == made.vs_rag["b+rag"].f1.p_holm


def test_no_untrained_variant_no_comparison_against_it():
    made = compare({"ft": _scored([1.0, 0.0]), "ft+rag": _scored([0.0, 1.0])})
    assert (made.vs_rag, made.best_untrained, made.vs_best_untrained) == ({}, None, {})


def _judged(correct, supported=None, parsed=True) -> Judgment:
    return Judgment(correct=correct, supported=supported, parsed=parsed)


def test_judge_metrics_are_means_of_the_readable_verdicts_per_question():
    rows = [_row("1", "x", False, 0.0, 0.0, judgment=_judged(True, True)),
            _row("2", "x", False, 0.0, 0.0, judgment=_judged(False, True)),
            _row("2", "x", False, 0.0, 0.0, judgment=_judged(True, False)),  # a repeat: question 2 averages 0.5
            _row("3", "x", False, 0.0, 0.0, judgment=_judged(None, None, parsed=False)),  # unread: left out
            _row("4", "x", True, 0.0, 0.0, judgment=_judged(False)),  # a refusal: correctness only
            _row("5", "", True)]  # unanswerable: never judged
    m = score_variant(rows, load_prices(), "m", True).metrics
    assert m.judge_correct.mean == pytest.approx(1.5 / 3) and m.judge_correct.n == 3
    assert m.judge_supported.mean == pytest.approx(1.5 / 2) and m.judge_supported.n == 2
    assert m.get("judge_correct") == m.judge_correct and m.get("judge_supported") == m.judge_supported
    plain = score_variant([_row("1", "x", False, 1.0, 1.0)], load_prices(), "m", True).metrics
    assert plain.judge_correct.n == 0 and plain.judge_correct.mean is None and plain.judge_supported.n == 0


def test_judge_correctness_is_compared_only_when_something_was_judged():
    lexical = {"rag": _scored([0.0, 1.0]), "ft": _scored([1.0, 1.0])}
    made = compare(lexical)
    assert made.vs_rag["ft"].judge_correct is None
    # rag judged wrong, right, wrong, wrong; ft right throughout: 3 of 4 questions differ, all one way
    judged = {name: [_row(str(i), "x", False, 0.0, 0.0, judgment=_judged(c)) for i, c in enumerate(verdicts)]
              for name, verdicts in (("rag", [False, True, False, False]), ("ft", [True] * 4))}
    made = compare(judged)
    got = made.vs_rag["ft"].judge_correct
    assert got is not None and got.diff == pytest.approx(0.75) and got.n == 4
    # exact sign-flip p 2 / 2^3; F1, EM (all 0, p 1) and judge correctness make 3 tests, and rag is also the
    # strongest untrained variant (the same tests, counted once): Holm multiplies the smallest by 3
    assert got.p_value == pytest.approx(2 / 8) and got.p_holm == pytest.approx(3 * 2 / 8)
    assert made.vs_best_untrained["ft"].judge_correct == got
    # a second tuned variant: judge correctness is compared between the tuned ones too. F1 ties (all 0), so ft,
    # the first, is the strongest tuned; ft+rag is judged wrong on one question where ft was right
    second = [_row(str(i), "x", False, 0.0, 0.0, judgment=_judged(c)) for i, c in enumerate([True, False, True, True])]
    tuned = compare({**judged, "ft+rag": second}).vs_best_tuned["ft+rag"].judge_correct
    assert tuned is not None and tuned.diff == pytest.approx(-0.25)
    unread = {name: [_row("1", "x", False, 0.0, 0.0, judgment=_judged(None, parsed=False))] for name in ("rag", "ft")}
    assert compare(unread).vs_rag["ft"].judge_correct is None  # judged, but nothing readable to compare
