"""rag.support by hand-worked verdicts: numbers (digits, thousands separators, small numbers spelled out),
quotes, the word-coverage boundary, and which citations stand (ground)."""

from __future__ import annotations

import pytest

from ragtune.documents.types import Chunk, Hit
from ragtune.rag.support import Grounding, ground, supported

WEBHOOKS = Hit(Chunk("a#0", "a", 0, "Webhooks retry failed deliveries nine times, up to 1,000 events."), 0.9)
REFUNDS = Hit(Chunk("b#0", "b", 0, "Refunds take 5 business days."), 0.5)
HITS = [WEBHOOKS, REFUNDS]


@pytest.mark.parametrize("text, expected", [
    ("Webhooks retry 9 times [1]", True),  # 9 is the passage's "nine"
    ("Webhooks retry nine times [1]", True),
    ("Webhooks retry 3 times [1]", False),  # every other word is there: the number alone decides
    ("Webhooks retry three times [1]", False),
    ("Up to 1000 events [1]", True),  # 1,000 and 1000 are one number
    ("Up to 1,000 events [1]", True),
    ("Up to 10,000 events [1]", False),
    ("9", True),  # nothing but a number, and the passages hold it
    ("12", False),
    ("Refunds take 5 business days [2]", True),
    ("Refunds take 5.5 business days [2]", False),
])
def test_every_number_must_be_in_the_passages(text, expected):
    assert supported(text, HITS, "") is expected


def test_ground_keeps_what_the_model_cited_and_says_why_it_fails():
    ok = ground("Webhooks retry nine times [1]", HITS, "")
    assert [c.n for c in ok.citations] == [1] and ok.reason == ""
    wrong = ground("Refunds take business days [1]", HITS, "")  # true, but not what [1] says
    assert [c.n for c in wrong.citations] == [1]
    assert wrong.reason == ("the cited passage [1] does not support it: "
                            "the passage never mentions: business, days, refunds, take")
    number = ground("Webhooks retry 3 times [1][2]", HITS, "")
    assert number.reason == "the cited passage [1], [2] does not support it: the passage does not hold: 3"
    two = ground("Webhooks retry 3 times, up to 10,000 events [1]", HITS, "")
    assert two.reason.endswith("the passage does not hold: 10000, 3")
    quote = ground("##begin_quote##Webhooks retry ten times##end_quote## [1]\n<ANSWER>: nine [1]", HITS, "")
    assert quote.reason.endswith("its quote is not in the passage: 'Webhooks retry ten times'")


def test_an_inferred_citation_stands_only_when_its_passage_supports_the_answer():
    inferred = ground("Webhooks retry failed deliveries nine times.", HITS, "")
    assert [(c.n, c.inferred) for c in inferred.citations] == [(1, True)] and inferred.reason == ""
    wrong = ground("Webhooks retry failed deliveries eight times.", HITS, "")
    assert wrong.citations == []
    assert wrong.reason == ("it cites no passage, and the closest one does not support it: "
                            "the passage does not hold: 8")
    assert ground("The answer is: 3", HITS, "") == ground("Purple elephants.", HITS, "")
    assert ground("Purple elephants.", HITS, "") == Grounding([], "it cites no passage, and no passage holds its words")
    assert ground("Yes [2]", HITS, "").reason == ""  # nothing checkable: a citation is all it can have


@pytest.mark.parametrize("text, question, expected", [
    # restating the question is no claim: only the answer's own words and numbers are checked
    ("The maximum retry count for webhooks is nine [1]", "What is the maximum retry count for webhooks?", True),
    ("The maximum retry count for webhooks is nine [1]", "", False),  # without the question: "maximum", "count"
    ("The maximum retry count for webhooks is three [1]", "What is the maximum retry count for webhooks?", False),
    ("Version 2 webhooks retry nine times [1]", "How often do version 2 webhooks retry?", True),  # 2 is the question's
    ("Version 2 webhooks retry nine times [1]", "How often do webhooks retry?", False),
    ("The answer is: 9 [1]", "", True),  # the preamble is no claim
    ("The answer is: 3 [1]", "", False),
    ("The reply is: 9 [1]", "", False),  # only the answer preamble is dropped
])
def test_the_question_and_the_answer_preamble_are_not_claims(text, question, expected):
    assert supported(text, HITS, question) is expected
    assert (ground(text, HITS, question).reason == "") is expected

