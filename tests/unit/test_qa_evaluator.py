"""The one QA evaluator: its rows, its summary and refusal accounting (known answers), and the held-out
chat examples of ``tune eval`` turned into its questions."""

import pytest

from ragtune.evaluation.qa import QARow, Question, read_questions, reply_answer, summarize, to_row
from ragtune.finetune.dataset import Example
from ragtune.finetune.evaluate import question_of
from ragtune.generation.protocol import Completion
from ragtune.rag.prompts import REFUSAL


def test_read_questions_numbers_rows_without_ids_and_marks_unanswerable_ones():
    qs = read_questions([{"_id": 7, "question": "a?", "answer": "x"}, {"question": "b?", "answer": None}])
    assert [(q.id, q.answerable) for q in qs] == [("7", True), ("1", False)]
    assert not Question("3", "c?", "x", hidden_doc="d").answerable  # its source hidden: refusing is right


def test_summary_hand_computed():
    def r(qid, ref, refused, f1=None, em=None, seconds=1.0):
        return QARow(id=qid, question="q", reference=ref, answerable=bool(ref), answer="a", final="a",
                     refused=refused, exact_match=em, f1=f1, prompt_tokens=10, completion_tokens=2, seconds=seconds)

    rows = [r("1", "x", False, 1.0, 1.0), r("2", "x", True, 0.0, 0.0, 3.0), r("3", "x", False, 0.5, 0.0),
            r("4", "", True), r("5", "", False), r("6", "", False)]
    s = summarize(rows)
    assert s.questions == 6 and s.exact_match == pytest.approx(1 / 3) and s.f1 == pytest.approx(0.5)
    assert s.refusal_rate == pytest.approx(2 / 6) and s.false_refusal_rate == pytest.approx(1 / 3)
    # refused 2 and 4, should refuse 4, 5 and 6: precision over the refused, recall over the unanswerable
    assert s.refusal_precision == pytest.approx(1 / 2) and s.refusal_recall == pytest.approx(1 / 3)
    assert s.latency_p50 == pytest.approx(1.0) and s.prompt_tokens_mean == 10
    nothing = summarize([r("1", "x", False, 1.0, 1.0)])
    assert nothing.refusal_precision is None and nothing.refusal_recall is None


def test_tune_eval_examples_become_questions_scored_on_their_final_answers():
    raft = Example([{"role": "system", "content": "rules"},
                    {"role": "user", "content": "[1] Webhooks\nWebhooks retry eight times.\n\nQuestion: How often?"},
                    {"role": "assistant", "content": "##begin_quote##retry eight times##end_quote## [1]\n"
                                                     "<ANSWER>: eight times"}], "v.jsonl", 3)
    q = question_of(raft)
    assert (q.id, q.question, q.answer) == ("3", "How often?", "eight times")
    row = to_row(q, reply_answer(q.question, Completion("quote [1]\n<ANSWER>: eight times [1]", 20, 8), 0.2))
    assert (row.exact_match, row.f1, row.refused, row.seconds) == (1.0, 1.0, False, 0.2)
    refusing = Example([*raft.messages[:-1], {"role": "assistant", "content": f"<ANSWER>: {REFUSAL}"}], "v.jsonl", 4)
    assert not question_of(refusing).answerable  # a taught refusal: refusing is the right answer
