"""Faithfulness and citation correctness on answers whose verdicts are worked out by hand: which
words the passages hold (after stemming and stop words), which quotes are verbatim, which passages
an answer cites."""

from __future__ import annotations

import pytest

from ragtune.bakeoff.judgments import citation_correct, supported
from ragtune.documents.types import Chunk, Hit

WEBHOOKS = Hit(Chunk("a#0", "a", 0, "Webhooks retry failed deliveries eight times."), 0.9)
REFUNDS = Hit(Chunk("b#0", "b", 0, "Refunds take five business days."), 0.5)
STREET = Hit(Chunk("c#0", "c", 0, "Die Hauptstrasse ist lang."), 0.4)
HITS = [WEBHOOKS, REFUNDS]


def _raft(quote: str, final: str, n: int = 1) -> str:
    return f"##begin_quote##{quote}##end_quote## [{n}]\n<ANSWER>: {final}"


@pytest.mark.parametrize("text, expected", [
    # content words: webhooks retry failed deliveries slowly -> 4 of 5 in the passages = 0.8, enough
    # (not "twelve": a number must be in the passages whatever the coverage, see test_support.py)
    ("Webhooks retry failed deliveries slowly", True),
    # webhooks retry slowly sundays (times, on: stop word / present) -> 2 of 4 missing
    ("Webhooks retry slowly times on Sundays.", False),
    ("Purple elephants dance.", False),  # nothing in the passages
    ("Yes, eight times.", True),  # yes/no are not claims; eight times is
    ("Yes.", None),  # nothing to check
    ("The", None),  # only a stop word: nothing to check either
    ("Refunds take five business days [2]", True),  # a claim from the second passage
])
def test_claims_are_judged_by_content_word_coverage(text, expected):
    assert supported(text, HITS, "") is expected


def test_only_the_final_answer_is_a_claim():
    # reasoning before the marker is not judged, the quote is checked, the final answer is a claim
    assert supported(_raft("failed deliveries eight", "eight times"), HITS, "") is True
    assert supported(_raft("failed deliveries eight", "nine attempts"), HITS, "") is False


@pytest.mark.parametrize("quote, expected", [
    ("webhooks   RETRY failed\ndeliveries", True),  # case and spacing do not matter
    ("retry failed deliveries nine times", False),  # made up
    ("eight times. Refunds take", False),  # a quote lies inside one passage, not across two
    ("Refunds take five business days.", True),
])
def test_quotes_must_be_verbatim_pieces_of_one_passage(quote, expected):
    assert supported(_raft(quote, "yes"), HITS, "") is expected


def test_a_quote_with_nothing_else_to_check_is_supported_and_a_bad_quote_fails():
    assert supported(_raft("Refunds take five business days.", "no"), HITS, "") is True
    assert supported(_raft("Refunds take six business days.", "no"), HITS, "") is False
    # every quote counts, not just one of them
    two = ("##begin_quote##Refunds take five##end_quote## [2] ##begin_quote##Refunds take nine##end_quote## [2]"
           "\n<ANSWER>: five business days")
    assert supported(two, HITS, "") is False


def test_verbatim_means_the_same_characters():
    # the passage writes "Hauptstrasse"; a quote spelling it with ß is not verbatim, though the final
    # answer's words are there
    assert supported(_raft("Die Hauptstrasse", "Hauptstrasse"), [STREET], "") is True
    assert supported(_raft("Die Hauptstraße", "Hauptstrasse"), [STREET], "") is False


def test_no_passages_no_verdict():
    assert supported("eight times", [], "") is None
    assert supported(_raft("eight times", "eight"), [], "") is None


def test_citation_correctness_judges_only_the_cited_passages():
    assert citation_correct("Eight times [1]", [1], HITS, "") is True
    assert citation_correct("Eight times [2]", [2], HITS, "") is False  # true, but not in what it cites
    assert citation_correct("Five business days [2]", [2], HITS, "") is True  # the last passage counts
    assert citation_correct("Eight times, five business days [1][2]", [1, 2], HITS, "") is True
    assert citation_correct("Eight times, five business days [1]", [1], HITS, "") is False
    # a quote must come from a cited passage, even when the claim is supported elsewhere
    assert citation_correct(_raft("Webhooks retry failed", "eight times"), [1], HITS, "") is True
    assert citation_correct(_raft("Webhooks retry failed", "eight times", 2), [2], HITS, "") is False


def test_citations_outside_the_passages_are_not_judged():
    assert citation_correct("Eight times", [], HITS, "") is None
    assert citation_correct("Eight times [3]", [3], HITS, "") is None
    assert citation_correct("Eight times [0]", [0], HITS, "") is None
    assert citation_correct("Eight times [0][1][3]", [0, 1, 3], HITS, "") is True
    # a cited passage whose verdict is "nothing to check" is not a correct citation
    assert citation_correct("Yes [1]", [1], HITS, "") is False


def test_citation_correct_reads_the_question_as_the_answer_did():
    # "deliveries" is the question's word: restating it is no claim; without the question [2] lacks it
    assert citation_correct("Deliveries take five business days [2]", [2], HITS, "How long do deliveries take?") is True
    assert citation_correct("Deliveries take five business days [2]", [2], HITS, "") is False
