import collections
import math
import random
import re
import string

import pytest
import pytrec_eval
from hypothesis import given, settings
from hypothesis import strategies as st

from ragtune.evaluation.answer_metrics import containment, exact_match, normalize, percentile, reference_recall, token_f1
from ragtune.evaluation.retrieval_metrics import mrr_at_k, ndcg_at_k, recall_at_k

# --- hand-computed ranking metrics --------------------------------------------------------------


def test_ndcg_hand_computed():
    rel = {"a": 1, "b": 1}
    assert ndcg_at_k(["a", "b", "x"], rel, 10) == pytest.approx(1.0)
    # relevant at ranks 2 and 3: (1/log2 3 + 1/log2 4) / (1 + 1/log2 3)
    assert ndcg_at_k(["x", "a", "b"], rel, 10) == pytest.approx((1 / math.log2(3) + 0.5) / (1 + 1 / math.log2(3)))
    # graded: gains 2 and 1, ranked in the wrong order
    graded = {"a": 2, "b": 1}
    assert ndcg_at_k(["b", "a"], graded, 10) == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    # the cut-off drops what is ranked below k, but the ideal still counts every relevant document
    assert ndcg_at_k(["x", "y", "a"], rel, 2) == 0.0
    assert ndcg_at_k(["a", "x", "b"], rel, 1) == pytest.approx(1.0)
    assert ndcg_at_k(["a"], {"a": 1, "b": 1, "c": 1}, 10) == pytest.approx(1 / (1 + 1 / math.log2(3) + 0.5))
    # nothing relevant judged: 0, not a division error; zero grades are not relevant
    assert ndcg_at_k(["a"], {}, 10) == 0.0
    assert ndcg_at_k(["a"], {"a": 0}, 10) == 0.0


def test_recall_hand_computed():
    rel = {"a": 1, "b": 2, "c": 1, "z": 0}
    assert recall_at_k(["a", "x", "b", "c"], rel, 2) == pytest.approx(1 / 3)
    assert recall_at_k(["a", "x", "b", "c"], rel, 3) == pytest.approx(2 / 3)
    assert recall_at_k(["a", "x", "b", "c"], rel, 10) == pytest.approx(1.0)
    assert recall_at_k(["z"], rel, 10) == 0.0
    assert recall_at_k(["a"], {}, 10) == 0.0


def test_the_default_cut_off_is_ten():
    ranked = [f"x{i}" for i in range(10)] + ["a"]  # the relevant document at rank 11
    assert ndcg_at_k(ranked, {"a": 1}) == 0.0 and mrr_at_k(ranked, {"a": 1}) == 0.0
    assert ndcg_at_k(ranked[1:], {"a": 1}) == pytest.approx(1 / math.log2(11))
    assert mrr_at_k(ranked[1:], {"a": 1}) == pytest.approx(0.1)


def test_mrr_hand_computed():
    rel = {"b": 1, "c": 1}
    assert mrr_at_k(["a", "b", "c"], rel, 10) == pytest.approx(0.5)
    assert mrr_at_k(["c", "b"], rel, 10) == pytest.approx(1.0)
    assert mrr_at_k(["a", "x", "y", "b"], rel, 3) == 0.0
    assert mrr_at_k(["a", "x", "y", "b"], rel, 4) == pytest.approx(0.25)
    assert mrr_at_k(["a"], {"a": 0}, 10) == 0.0


# --- pytrec_eval as an independent oracle -------------------------------------------------------

def _random_case(rng: random.Random, n_queries: int = 40):
    docs = [f"d{i}" for i in range(60)]
    qrels, runs = {}, {}
    for q in range(n_queries):
        qid = f"q{q}"
        judged = rng.sample(docs, rng.randint(1, 12))
        grades = {d: rng.choice([0, 1, 1, 2, 3]) for d in judged}
        grades[judged[0]] = max(1, grades[judged[0]])  # at least one relevant document
        qrels[qid] = grades
        ranked = rng.sample(docs, rng.randint(0, 40))
        runs[qid] = ranked
    return qrels, runs


def _as_run(ranked: list[str]) -> dict[str, float]:
    # distinct descending scores, so trec_eval's tie-breaking never decides the order
    return {d: float(len(ranked) - i) for i, d in enumerate(ranked)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranking_metrics_match_pytrec_eval(seed):
    rng = random.Random(seed)
    qrels, runs = _random_case(rng)
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.5,10", "recall.5,10"})
    scores = evaluator.evaluate({q: _as_run(r) for q, r in runs.items() if r})
    for qid, ranked in runs.items():
        expected = scores.get(qid, {"ndcg_cut_5": 0.0, "ndcg_cut_10": 0.0, "recall_5": 0.0, "recall_10": 0.0})
        assert ndcg_at_k(ranked, qrels[qid], 10) == pytest.approx(expected["ndcg_cut_10"], abs=1e-9), qid
        assert ndcg_at_k(ranked, qrels[qid], 5) == pytest.approx(expected["ndcg_cut_5"], abs=1e-9), qid
        assert recall_at_k(ranked, qrels[qid], 10) == pytest.approx(expected["recall_10"], abs=1e-9), qid
        assert recall_at_k(ranked, qrels[qid], 5) == pytest.approx(expected["recall_5"], abs=1e-9), qid


@pytest.mark.parametrize("k", [1, 3, 10])
def test_mrr_matches_pytrec_eval_recip_rank_on_the_cut_run(k):
    rng = random.Random(100 + k)
    qrels, runs = _random_case(rng)
    cut = {q: _as_run(r[:k]) for q, r in runs.items() if r}
    scores = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(cut)
    nonzero = 0
    for qid, ranked in runs.items():
        expected = scores[qid]["recip_rank"] if qid in scores else 0.0
        got = mrr_at_k(ranked, qrels[qid], k)
        assert got == pytest.approx(expected, abs=1e-9), qid
        nonzero += got > 0
    assert nonzero > 0  # the random case is not trivially all-zero


# --- SQuAD answer metrics -----------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("The Eiffel Tower!", "eiffel tower"),
    ("  an  apple,   a pear and THE plum. ", "apple pear and plum"),
    ("theatre anthem", "theatre anthem"),  # articles only as whole words
    ("U.S.A.", "usa"),
    ("", ""),
])
def test_normalize(text, expected):
    assert normalize(text) == expected


def test_exact_match():
    assert exact_match("The Eiffel Tower.", "eiffel tower") == 1.0
    assert exact_match("Eiffel Tower in Paris", "Eiffel Tower") == 0.0
    assert exact_match("", "") == 1.0


def test_token_f1_hand_computed():
    assert token_f1("the cat sat", "a cat sat") == 1.0
    # pred {paris, france} vs ref {paris}: P = 1/2, R = 1 -> F1 = 2/3
    assert token_f1("Paris, France", "Paris") == pytest.approx(2 / 3)
    # pred 4 tokens, ref 3 tokens, 2 shared: P = 1/2, R = 2/3 -> F1 = 4/7
    assert token_f1("red big blue car", "blue red bike") == pytest.approx(4 / 7)
    # repeated tokens count only as often as they occur in both
    assert token_f1("yes yes yes", "yes") == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))
    assert token_f1("dog", "cat") == 0.0
    assert token_f1("", "cat") == 0.0
    assert token_f1("the", "a") == 1.0  # both normalise to nothing


# The official SQuAD v2.0 evaluation script's definitions (normalize_answer, compute_exact, compute_f1),
# transcribed as the oracle: https://rajpurkar.github.io/SQuAD-explorer/ (evaluate-v2.0.py)
def _squad_normalize(s):
    def remove_articles(text):
        return re.sub(re.compile(r"\b(a|an|the)\b", re.UNICODE), " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def _squad_f1(a_gold, a_pred):
    gold_toks, pred_toks = _squad_normalize(a_gold).split(), _squad_normalize(a_pred).split()
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(pred_toks)
    recall = 1.0 * num_same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


_ANSWERS = st.lists(st.sampled_from(["the", "a", "an", "Paris", "paris,", "France", "cat", "cat.", "U.S.", "1,000",
                                     "bank's", "\u00e9t\u00e9", "THE", "an-apple", "x", "  ", "!"]),
                    max_size=6).map(" ".join)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(_ANSWERS, _ANSWERS)
def test_answer_metrics_match_the_official_squad_script(prediction, reference):
    assert normalize(prediction) == _squad_normalize(prediction)
    assert exact_match(prediction, reference) == float(_squad_normalize(prediction) == _squad_normalize(reference))
    assert token_f1(prediction, reference) == pytest.approx(_squad_f1(reference, prediction))


def test_a_right_answer_said_in_a_sentence_keeps_its_recall_and_containment():
    answer, reference = "Refunds are accepted within 14 days [1].", "14 days"
    # normalised: "refunds are accepted within 14 days 1" (7 tokens), both reference tokens in it:
    # P = 2/7, R = 1 -> F1 = 2 * (2/7) / (2/7 + 1) = 4/9, while recall and containment are 1
    assert token_f1(answer, reference) == pytest.approx(4 / 9)
    assert reference_recall(answer, reference) == 1.0
    assert containment(answer, reference) == 1.0
    assert exact_match(answer, reference) == 0.0


def test_reference_recall_and_containment_hand_computed():
    # 1 of 2 reference tokens found ("days" is missing)
    assert reference_recall("within 14 weeks", "14 days") == 0.5
    assert containment("within 14 weeks", "14 days") == 0.0
    # all tokens there but not as one contiguous run, or in another order
    assert reference_recall("days 14", "14 days") == 1.0
    assert containment("days 14", "14 days") == 0.0
    assert containment("14 or more days", "14 days") == 0.0
    # a repeated reference token counts as often as the answer has it: 2 of 3
    assert reference_recall("yes", "yes yes no") == pytest.approx(1 / 3)
    assert reference_recall("yes yes", "yes yes no") == pytest.approx(2 / 3)
    # the reference at the very start and very end of the answer
    assert containment("14 days it is", "14 days") == 1.0
    assert containment("it is 14 days", "14 days") == 1.0
    assert containment("14", "14 days") == 0.0
    # "The" is an article: normalised away on both sides
    assert containment("It is the Eiffel Tower.", "Eiffel Tower") == 1.0
    # a reference that normalises to nothing is matched only by an answer that does too (as EM and F1)
    assert reference_recall("the", "a") == 1.0 and containment("the", "a") == 1.0
    assert reference_recall("cat", "the") == 0.0 and containment("cat", "the") == 0.0
    assert reference_recall("", "cat") == 0.0 and containment("", "cat") == 0.0


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(_ANSWERS, _ANSWERS)
def test_recall_and_containment_match_independent_oracles(prediction, reference):
    pred, ref = _squad_normalize(prediction), _squad_normalize(reference)
    gold = ref.split()
    # the official script's recall (num_same / len(gold)); a contiguous run is a substring on word boundaries
    recall = sum((collections.Counter(gold) & collections.Counter(pred.split())).values()) / len(gold) if gold \
        else float(not pred)
    contained = f" {ref} " in f" {pred} " if gold else not pred
    assert reference_recall(prediction, reference) == pytest.approx(recall)
    assert containment(prediction, reference) == float(contained)


def test_percentile():
    assert percentile([], 50) == 0.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    # linear interpolation between closest ranks: rank (5 - 1) * 0.95 = 3.8 lies 0.8 of the way from 4 to 50
    assert percentile([50.0, 1.0, 3.0, 2.0, 4.0], 95) == pytest.approx(4 + 0.8 * 46)
