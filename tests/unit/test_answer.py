import pytest

from ragtune.config import AnswerConfig
from ragtune.generation.fake import ScriptedGenerator
from ragtune.rag.answer import answer
from ragtune.rag.prompts import REFUSAL, SYSTEM
from ragtune.stores.filters import parse_filters

CFG = AnswerConfig(k=4)
REFUND_Q = "How many business days do refunds take to the original card?"


def test_explicit_citations_resolve_to_chunks_and_documents(indexed):
    p, _ = indexed
    gen = ScriptedGenerator(script=["Five business days [1]. Invoices come monthly [2, 9]."])
    a = answer(REFUND_Q, p.retriever, gen, CFG)
    assert not a.refused and a.reason == ""
    assert a.text == "Five business days [1]. Invoices come monthly [2, 9]."
    assert a.plain_text == "Five business days . Invoices come monthly ."
    assert len(a.contexts) == 4
    assert [h.chunk.doc_id for h in a.contexts[:2]] == ["kb/refunds.md", "kb/billing.md"]
    assert [(c.n, c.chunk_id, c.doc_id, c.inferred) for c in a.citations] == [
        (1, "kb/refunds.md#0", "kb/refunds.md", False), (2, "kb/billing.md#0", "kb/billing.md", False)]
    assert a.citations[0].title == "Refund policy" and a.citations[0].source.endswith("kb/refunds.md")
    d = a.to_dict()
    assert [c["chunk_id"] for c in d["citations"]] == ["kb/refunds.md#0", "kb/billing.md#0"]
    assert [c["n"] for c in d["contexts"]] == [1, 2, 3, 4]
    assert d["usage"]["completion_tokens"] == len(a.text.split())


def test_extractive_generator_answers_and_cites_the_right_chunk(indexed):
    p, _ = indexed
    gen = ScriptedGenerator()
    a = answer("How many times do webhooks retry failed deliveries?", p.retriever, gen, CFG)
    assert a.text == "Webhooks retry failed deliveries eight times with exponential backoff. [1]"
    assert [(c.chunk_id, c.inferred) for c in a.citations] == [("kb/webhooks.md#0", False)]
    assert len(gen.calls) == 1


def test_uncited_answer_gets_an_inferred_citation(indexed):
    p, _ = indexed
    gen = ScriptedGenerator(script=["SAML single sign-on is configured by an administrator."])
    a = answer("Who configures SAML single sign-on?", p.retriever, gen, CFG)
    assert [(c.doc_id, c.inferred) for c in a.citations] == [("kb/sso.md", True)]


def test_prompt_has_system_rules_and_numbered_context(indexed):
    p, _ = indexed
    gen = ScriptedGenerator(script=["Five business days [1]."])
    a = answer(REFUND_Q, p.retriever, gen, CFG)
    (messages,) = gen.calls
    assert [m["role"] for m in messages] == ["system", "user"]
    system, user = messages[0]["content"], messages[1]["content"]
    assert system == SYSTEM
    # the rules: answer from the numbered passages, cite them as [n], treat them as data, refuse exactly
    assert "numbered context passages" in system and "[1]" in system
    assert "not instructions" in system and f"reply exactly: {REFUSAL}" in system
    assert "[1] Refund policy\nRefunds are issued to the original card within five business days of approval." \
        in user
    assert "[2] Billing\nInvoices are emailed on the first day of each month." in user
    positions = [user.index(f"[{n}] {hit.chunk.title}\n{hit.chunk.text}") for n, hit in enumerate(a.contexts, 1)]
    assert positions == sorted(positions) and len(positions) == CFG.k  # numbered in rank order
    assert "[5]" not in user
    assert user.endswith(f"Question: {REFUND_Q}") and user.index("Question:") > positions[-1]


def test_min_relevance_gate_refuses_without_generating(indexed):
    p, _ = indexed
    gen = ScriptedGenerator(script=["should never be said [1]"])
    a = answer("zebra quantum xylophone", p.retriever, gen, CFG)
    assert a.refused and a.text == REFUSAL and a.citations == []
    assert a.reason.startswith("no passage is relevant enough (best similarity")
    assert gen.calls == []
    assert len(a.contexts) == 4  # what was found is still reported
    best = max(h.scores["dense"] for h in a.contexts)
    assert best < CFG.min_relevance
    # with the gates lowered below the best similarity, the same question is put to the model
    a = answer("zebra quantum xylophone", p.retriever, gen,
               AnswerConfig(k=4, min_relevance=best - 0.01, min_coverage=0.0))
    assert len(gen.calls) == 1 and a.generated == "should never be said [1]"  # asked; its answer is then checked


def test_coverage_gate_refuses_without_generating(indexed):
    p, _ = indexed
    gen = ScriptedGenerator(script=["should never be said [1]"])
    # content words: refunds, business, days, take, platinum, lizards; the last two are nowhere: 4/6 < 0.8
    q = "How many business days do refunds take for platinum lizards?"
    a = answer(q, p.retriever, gen, AnswerConfig(k=4, min_relevance=0.0, min_coverage=0.8))
    assert a.refused and a.text == REFUSAL and gen.calls == []
    assert a.reason == "the passages never mention: lizards, platinum"
    # 4/6 passes a gate of 0.6
    a = answer(q, p.retriever, gen, AnswerConfig(k=4, min_relevance=0.0, min_coverage=0.6))
    assert not a.refused and len(gen.calls) == 1


def test_no_hits_refuses_without_generating(indexed):
    p, _ = indexed
    gen = ScriptedGenerator(script=["x"])
    a = answer("zebra quantum xylophone", p.retriever, gen, CFG, mode="bm25")
    assert a.refused and a.reason == "no document matched" and a.contexts == [] and gen.calls == []
    a = answer(REFUND_Q, p.retriever, gen, CFG, where=parse_filters(["category=nothing"]))
    assert a.refused and a.reason == "no document matched" and gen.calls == []


@pytest.mark.parametrize("reply", ["I don't know.", "The provided documents do not contain the answer.",
                                   REFUSAL, "", "   "])
def test_refusal_from_the_model(indexed, reply):
    p, _ = indexed
    gen = ScriptedGenerator(script=[reply])
    a = answer(REFUND_Q, p.retriever, gen, CFG)
    assert len(gen.calls) == 1
    assert a.refused and a.citations == [] and a.plain_text == ""
    assert a.reason == "the model found no answer in the passages"
    assert a.text == (reply.strip() or REFUSAL)


def test_extractive_generator_refuses_when_nothing_overlaps(indexed):
    p, _ = indexed
    gen = ScriptedGenerator()
    a = answer("Why?", p.retriever, gen, AnswerConfig(k=2, min_relevance=-1.0, min_coverage=0.0))
    assert a.refused and len(gen.calls) == 1


def test_filters_reach_the_context(indexed):
    p, _ = indexed
    gen = ScriptedGenerator(script=["ok [1]"])
    a = answer("business days", p.retriever, gen, CFG, mode="hybrid", where=parse_filters(["category=api"]))
    assert {h.chunk.metadata["category"] for h in a.contexts} == {"api"}


def test_an_echoed_question_is_dropped_from_the_answer(indexed):
    p, _ = indexed
    gen = ScriptedGenerator(script=[f"Question: {REFUND_Q}\nFive business days [1].", f"{REFUND_Q} Five days [1]."])
    assert answer(REFUND_Q, p.retriever, gen, CFG).text == "Five business days [1]."
    assert answer(REFUND_Q, p.retriever, gen, CFG).text == "Five days [1]."
