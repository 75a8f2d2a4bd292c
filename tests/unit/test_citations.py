import pytest

from ragtune.documents.types import Chunk, Hit
from ragtune.rag.citations import is_refusal, missing_terms, resolve, strip_markers
from ragtune.rag.prompts import REFUSAL


def _hit(i: int, text: str, title: str = "") -> Hit:
    return Hit(Chunk(f"doc{i}#0", f"doc{i}", 0, text, title=title, metadata={"source": f"/src/doc{i}.md"}), 1.0)


HITS = [
    _hit(1, "Invoices are emailed on the first day of each month.", "Billing"),
    _hit(2, "Webhooks retry failed deliveries eight times with exponential backoff.", "Webhooks"),
    _hit(3, "SAML single sign-on is configured by an administrator.", "SSO"),
]


def test_explicit_single_marker():
    (c,) = resolve("Deliveries are retried eight times [2].", HITS)
    assert (c.n, c.chunk_id, c.doc_id, c.source, c.title, c.chunk_index, c.inferred) == (
        2, "doc2#0", "doc2", "/src/doc2.md", "Webhooks", 0, False)


def test_grouped_markers_keep_order_and_drop_repeats():
    cites = resolve("A [2, 3] and B [1][3] and C [2,1].", HITS)
    assert [c.n for c in cites] == [2, 3, 1]
    assert [c.chunk_id for c in cites] == ["doc2#0", "doc3#0", "doc1#0"]
    assert not any(c.inferred for c in cites)


def test_out_of_range_markers_are_ignored():
    assert [c.n for c in resolve("Text [0] [4] [3] [17].", HITS)] == [3]


def test_only_out_of_range_markers_fall_back_to_inference():
    (c,) = resolve("SAML single sign-on is configured by an administrator [9].", HITS)
    assert c.n == 3 and c.inferred


def test_inferred_citation_by_overlap():
    (c,) = resolve("Failed webhook deliveries retry eight times.", HITS)
    assert (c.n, c.doc_id, c.inferred) == (2, "doc2", True)


def test_no_citation_without_enough_overlap():
    assert resolve("Bananas are yellow and curved.", HITS) == []
    assert resolve("", HITS) == []
    assert resolve("the of and", HITS) == []  # stop words only
    assert resolve("anything [1]", []) == []


def test_inference_threshold():
    # content words {invoices, month, zebra, quokka}; doc1 holds 2 of the 4: a share of exactly 0.5
    (c,) = resolve("Invoices month zebra quokka", HITS)
    assert c.n == 1 and c.inferred
    assert resolve("Invoices month zebra quokka", HITS, min_overlap=0.6) == []
    # 2 of 5 content words = 0.4 < 0.5
    assert resolve("Invoices arrive monthly month zebra", HITS) == []


@pytest.mark.parametrize("text", [
    REFUSAL, "I don't know.", "I dont know", "The documents do not contain the answer.",
    "The passage does not contain that.", "The refund period is not mentioned in the text.",
    "I cannot answer this from the context.", "There is no information about refunds.",
    "Not enough information to say.", "I am unable to find it.", "It is not provided in the passages.",
    "That detail is not included in the context.",
])
def test_refusals(text):
    assert is_refusal(text)


@pytest.mark.parametrize("text", [
    "Refunds take five business days [1].", "Invoices are emailed monthly.", "Yes.",
    "Knowledge is power", "It cannot be answered quickly", "The information is on page 3.",
])
def test_not_refusals(text):
    assert not is_refusal(text)


def test_strip_markers():
    assert strip_markers("Refunds take five days [1]. Invoices are monthly [2, 3].") == \
        "Refunds take five days . Invoices are monthly ."
    assert strip_markers("no markers  here\n") == "no markers here"
    assert strip_markers("keep [a] and [1a]") == "keep [a] and [1a]"


def test_missing_terms_hand_computed():
    # content words webhooks, retry, deliveries, lizards; only lizards is absent from the passages
    assert missing_terms("Do webhooks retry deliveries for lizards?", HITS) == (0.75, ["lizards"])
    # stemming: retried / deliveries match retry / deliveries in the passage
    assert missing_terms("Were deliveries retried?", HITS) == (1.0, [])
    assert missing_terms("Why?", HITS) == (0.0, [])
    assert missing_terms("webhooks", []) == (0.0, ["webhooks"])
