"""rag.support by hand-worked verdicts: numbers (digits, thousands separators, small numbers spelled out),
quotes, the word-coverage boundary, which citations stand (ground), the supporting sentence and the default
checker's verdicts."""

from __future__ import annotations

import pytest

from ragtune.documents.types import Chunk, Hit
from ragtune.rag.check import Outcome, SupportVerdict
from ragtune.rag.citations import citation
from ragtune.rag.support import Grounding, LexicalChecker, ground, supported, supporting_sentence

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



# --- the supporting sentence and the default checker ------------------------------------------------------

PLANS = Hit(Chunk("c#0", "c", 0, "The Business plan costs 24 dollars per member. The Team plan costs 12 dollars."), 0.8)
ALSO = Hit(Chunk("d#0", "d", 0, "Plans renew monthly.\n\nThe Business plan costs 24 dollars per member."), 0.7)


@pytest.mark.parametrize("question, hits, clear, expected", [
    # 2 of the question's 3 words (business, plan, cost): the Team sentence holds 2 of 3 too, but not "business"
    ("What does the Business plan cost?", [PLANS], 0.6, (1, "The Business plan costs 24 dollars per member.")),
    ("What does the Business plan cost?", [PLANS], 1.0, (1, "The Business plan costs 24 dollars per member.")),
    ("What does the Business plan cost per seat?", [PLANS], 0.85, None),  # 4 of 5 words (not "seat"): 0.8 < 0.85
    ("What does the Business plan cost per seat?", [PLANS], 0.8, (1, "The Business plan costs 24 dollars per member.")),
    # the same sentence in two overlapping passages counts once, from the first
    ("What does the Business plan cost?", [ALSO, PLANS], 0.6, (1, "The Business plan costs 24 dollars per member.")),
    ("What does a plan cost?", [PLANS], 0.6, None),  # both plan sentences hold it equally: neither clearly answers
    ("What does a plan cost in euros?", [PLANS], 0.6, None),  # a tie below full coverage too (2 of 3 words each)
    ("What?", [PLANS], 0.0, None),  # no content words to answer
    ("What does the Business plan cost?", [], 0.0, None),
])
def test_the_supporting_sentence_clearly_answers_the_question(question, hits, clear, expected):
    assert supporting_sentence(question, hits, clear) == expected


def test_a_sentence_that_only_restates_the_question_answers_nothing():
    restating = Hit(Chunk("e#0", "e", 0, "Business plan costs. The Business plan costs 24 dollars."), 0.8)
    assert supporting_sentence("Business plan costs?", [restating], 0.6) == (1, "The Business plan costs 24 dollars.")
    only = Hit(Chunk("f#0", "f", 0, "Business plan costs."), 0.8)
    assert supporting_sentence("Business plan costs?", [only], 0.0) is None


def test_the_lexical_checker_keeps_replaces_or_refuses():
    q = "What does the Business plan cost?"
    kept = LexicalChecker().check(q, "24 dollars per member [2]", [REFUNDS, PLANS])
    assert kept == SupportVerdict(Outcome.kept, citations=(citation(2, PLANS),))
    replaced = LexicalChecker().check(q, "12.50 dollars [2]", [REFUNDS, PLANS])
    assert replaced == SupportVerdict(Outcome.replaced, "the cited passage [2] does not support it: the passage "
                                      "does not hold: 12.50", (citation(2, PLANS),),
                                      "The Business plan costs 24 dollars per member.")
    assert replaced.shown == "The Business plan costs 24 dollars per member. [2]"
    refused = LexicalChecker(clear=0.85).check("What does the Business plan cost per seat?", "12.50 [1]", [PLANS])
    assert refused == SupportVerdict(Outcome.refused, "the cited passage [1] does not support it: the passage does "
                                     "not hold: 12.50; no passage sentence clearly answers the question")
