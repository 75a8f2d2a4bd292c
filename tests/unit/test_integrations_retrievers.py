"""The LangChain and LlamaIndex adapters, driven through each framework's own API."""

import pytest

from conftest import make_project
from ragtune.rag.ingest import ingest


@pytest.fixture
def kb(tmp_path, corpus_dir):
    p = make_project(tmp_path / "proj")
    ingest(p, [corpus_dir / "kb"])
    return p


def test_langchain_retriever(kb):
    pytest.importorskip("langchain_core")
    from langchain_core.retrievers import BaseRetriever

    from ragtune.integrations.langchain import RagtuneRetriever

    r = RagtuneRetriever(project=str(kb.root), k=2)
    assert isinstance(r, BaseRetriever)
    docs = r.invoke("webhooks retry failed deliveries")
    assert len(docs) == 2 and docs[0].id == "kb/webhooks.md#0"
    assert docs[0].page_content == "Webhooks retry failed deliveries eight times with exponential backoff."
    assert docs[0].metadata["category"] == "api" and docs[0].metadata["doc_id"] == "kb/webhooks.md"
    assert docs[0].metadata["score"] >= docs[1].metadata["score"]
    # filters and batch, the framework's own runnable API
    filtered = RagtuneRetriever(project=kb, k=5, mode="dense", filters=["category=billing"])
    first, second = filtered.batch(["refunds", "invoices"])
    assert {d.metadata["doc_id"] for d in first} == {d.metadata["doc_id"] for d in second} == \
        {"kb/billing.md", "kb/refunds.md"}


def test_llamaindex_retriever(kb):
    pytest.importorskip("llama_index.core")
    from llama_index.core.schema import QueryBundle

    from ragtune.integrations.llamaindex import RagtuneRetriever

    r = RagtuneRetriever(kb.root, k=3, mode="bm25")
    nodes = r.retrieve("SAML single sign-on administrator")
    assert nodes[0].node.node_id == "kb/sso.md#0" and nodes[0].node.metadata["title"] == "Single sign-on"
    assert nodes[0].node.get_content() == "SAML single sign-on is configured by an administrator under security settings."
    assert [n.score for n in nodes] == sorted((n.score for n in nodes), reverse=True)
    only = RagtuneRetriever(kb, k=5, mode="dense", filters=["year>=2024"]).retrieve(QueryBundle("refunds"))
    assert {n.node.metadata["doc_id"] for n in only} == {"kb/refunds.md", "kb/sso.md", "kb/ratelimits.md"}
