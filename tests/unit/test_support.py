"""rag.support by hand-worked verdicts: numbers (digits, thousands separators, small numbers spelled out),
quotes, the word-coverage boundary, which citations stand (ground), the supporting sentence and the default
checker's verdicts."""

from __future__ import annotations

import pytest

from ragtune.documents.types import Chunk, Hit
from ragtune.rag.check import Outcome, SupportVerdict
from ragtune.rag.citations import citation
from ragtune.rag.support import (
    Grounding,
    LexicalChecker,
    Statement,
    aside,
    contradicted,
    ground,
    stated,
    supported,
    supporting_sentence,
)

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


# --- a yes or no checked against the sentence stating what the question asks --------------------------------

PROVINCES = Hit(Chunk("g#0", "g", 0, "The capital is not a province. Provinces have a large degree of autonomy."), 0.8)
AGAIN = Hit(Chunk("h#0", "h", 0, "Provinces have a large degree of autonomy, as before."), 0.7)
AUTONOMY = "Provinces have a large degree of autonomy."
CAPITAL = Hit(Chunk("i#0", "i", 0, "The capital is a province."), 0.6)
LESS = Hit(Chunk("j#0", "j", 0, "Provinces have a large degree. Provinces have a large degree of autonomy."), 0.5)


@pytest.mark.parametrize("question, hits, expected", [
    # all 5 content words (provinc, have, larg, degre, autonomi); the first sentence holds 1
    ("Do provinces have a large degree of autonomy?", [PROVINCES], Statement(1, AUTONOMY, True)),
    # equally full in two passages: the first stands
    ("Do provinces have a large degree of autonomy?", [AGAIN, PROVINCES], Statement(1, AGAIN.chunk.text, True)),
    ("Do provinces have a large degree of autonomy?", [PROVINCES, AGAIN], Statement(1, AUTONOMY, True)),
    # 5 of 7 words (not parliament, court): 0.71 < 0.8
    ("Do provinces have a large degree of autonomy, a parliament and courts?", [PROVINCES], None),
    # 4 of 5 (not parliament): exactly 0.8 states it
    ("Do provinces have a large autonomy in parliament?", [PROVINCES], Statement(1, AUTONOMY, True)),
    # both sentences state it (4 of 5, then 5 of 5): the one holding more stands
    ("Do provinces have a large degree of autonomy?", [LESS], Statement(1, AUTONOMY, True)),
    # the sentence negated and the question not: no; both negated: yes
    ("Is the capital a province?", [PROVINCES], Statement(1, "The capital is not a province.", False)),
    ("Is the capital not a province?", [PROVINCES], Statement(1, "The capital is not a province.", True)),
    # a negation is not a word the sentence must hold (capit, provinc: 2 of 2, not 2 of 3)
    ("Is the capital not a province?", [CAPITAL], Statement(1, "The capital is a province.", False)),
    ("Isn't the capital a province?", [CAPITAL], Statement(1, "The capital is a province.", False)),
    ("Don't provinces have a large degree of autonomy?", [PROVINCES], Statement(1, AUTONOMY, False)),
    # "Is it true that" asks whether what follows is: "true" is not a word the sentence must hold (2 of 3: 0.67)
    ("Is it true that the capital is a province?", [PROVINCES], Statement(1, "The capital is not a province.", False)),
    ("Can't provinces have a large degree of autonomy?", [PROVINCES], Statement(1, AUTONOMY, False)),
    ("What do provinces have a large degree of?", [PROVINCES], None),  # not a yes/no question
    ("Island provinces have a large degree of autonomy?", [PROVINCES], None),  # "Is" only begins a word
    ("Is it?", [PROVINCES], None),  # nothing asked
    ("Is the capital a province?", [], None),
])
def test_the_sentence_stating_what_a_yes_no_question_asks(question, hits, expected):
    assert stated(question, hits) == expected


def test_a_yes_or_no_the_stating_sentence_contradicts_is_replaced_by_its_answer():
    q = "Do provinces have a large degree of autonomy?"
    corrected = contradicted(q, "no [2]", [AGAIN, PROVINCES])
    assert corrected == SupportVerdict(Outcome.replaced, f"passage [1] says yes: {AGAIN.chunk.text!r}",
                                       (citation(1, AGAIN),), AGAIN.chunk.text, "Yes")
    assert corrected.shown == "Yes [1]"
    assert contradicted("Is the capital a province?", " Yes, it is.", [PROVINCES]).shown == "No [1]"  # cites nothing
    for agrees_or_not_yes_no in ("Yes [1]", "yes", "They have autonomy [1]", "Nobody knows [1]"):
        assert contradicted(q, agrees_or_not_yes_no, [PROVINCES]) is None
    assert contradicted("What do provinces have?", "no [1]", [PROVINCES]) is None
    # the checker corrects it first; an answer that agrees goes on to the grounding check
    assert LexicalChecker().check(q, "no [2]", [AGAIN, PROVINCES]) == corrected
    assert LexicalChecker().check(q, "Yes [1]", [PROVINCES]) == SupportVerdict(Outcome.kept,
                                                                                citations=(citation(1, PROVINCES),))


# --- an answer taken from a sentence about something else ----------------------------------------------------

RIVER = "Which river flows through the capital?"  # capit, flow, river, through
RHINE = Hit(Chunk("r#0", "r", 0, "The Rhine flows through the capital. Salt is mined near the border."), 0.8)
PORT = Hit(Chunk("s#0", "s", 0, "The Inn flows past the port. The Elbe flows through the port."), 0.7)
BAND = Hit(Chunk("t#0", "t", 0, "Yes is a band."), 0.6)
ANSWERS_IT = (1, "The Rhine flows through the capital.")  # 3 of 4 words: the supporting sentence


@pytest.mark.parametrize("answer, expected", [
    ("Inn [2]", ANSWERS_IT),  # its sentence holds 1 of 4 words: 0.25, exactly 0.5 below 0.75
    ("Salt [1]", ANSWERS_IT),  # 0 of 4
    ("The Elbe [2]", None),  # 2 of 4: 0.5, less than 0.5 below
    ("the rhine.", None),  # in the supporting sentence itself
    ("A river called Rhine [1]", None),  # in words of its own: no sentence holds them, the word check decides
    ("Yes [3]", None),  # a yes or no is checked against the sentence stating the question, not here
    ("alt [1]", None),  # word for word: "salt" does not hold it
    ("[1]", None),
])
def test_an_answer_from_a_sentence_about_something_else_gives_way_to_the_one_that_answers(answer, expected):
    assert aside(RIVER, answer, [RHINE, PORT, BAND], 0.6) == expected


def test_the_lexical_checker_replaces_an_answer_taken_from_aside():
    assert LexicalChecker().check(RIVER, "Inn [2]", [RHINE, PORT]) == SupportVerdict(
        Outcome.replaced, "its words come from a sentence about something else; passage [1] answers the question",
        (citation(1, RHINE),), ANSWERS_IT[1])
    assert LexicalChecker().check(RIVER, "The Elbe [2]", [RHINE, PORT]) == SupportVerdict(
        Outcome.kept, citations=(citation(2, PORT),))
    # no sentence clearly answers (0.75 < clear): nothing to replace it with, so it stands
    assert LexicalChecker(clear=0.8).check(RIVER, "Inn [2]", [RHINE, PORT]).outcome is Outcome.kept
