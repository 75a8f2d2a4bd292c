"""The real packaged models end to end: int8 and fp32 MiniLM, the demo knowledge base, SmolLM2."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from ragtune.app.variants import resolve
from ragtune.embedding.onnx import OnnxEmbedder
from ragtune.embedding.sentence_transformers import SentenceTransformerEmbedder
from ragtune.project import Project
from ragtune.rag.answer import answer
from ragtune.rag.ingest import ingest

pytestmark = pytest.mark.integration

DEMO = Path(str(files("ragtune") / "demo"))
QUESTIONS = [json.loads(line) for line in (DEMO / "questions.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory) -> Project:
    project = Project(tmp_path_factory.mktemp("demo"))
    report = ingest(project, [DEMO / "kb"])
    assert report.added == 35 and not report.problems
    return project


def test_int8_default_agrees_with_fp32_sentence_transformers():
    texts = ["Webhooks are retried five times with exponential backoff.", "The Team plan costs $12 per seat.",
             "A short one.", "Quillstack stores data in Frankfurt for EU workspaces. " * 20]
    fast, reference = OnnxEmbedder().embed(texts), SentenceTransformerEmbedder().embed(texts)
    assert fast.shape == reference.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    cosines = (fast * reference).sum(axis=1)
    assert cosines.min() > 0.98, cosines
    as_shipped = OnnxEmbedder(quantize="none").embed(texts)  # weight-only int8: nearly exact
    assert (as_shipped * reference).sum(axis=1).min() > 0.998


def test_int8_compute_model_is_built_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGTUNE_CACHE", str(tmp_path))
    OnnxEmbedder().embed(["first"])
    built = list(tmp_path.glob("*-dynint8-*.onnx"))
    assert len(built) == 1 and not list(tmp_path.glob(".*"))  # no temporary files left behind
    mtime = built[0].stat().st_mtime_ns
    OnnxEmbedder().embed(["second"])
    assert built[0].stat().st_mtime_ns == mtime


def test_demo_questions_retrieve_their_source_page(demo_project):
    answerable = [q for q in QUESTIONS if q["answer"]]
    found = 0
    for q in answerable:
        hits = demo_project.retriever.search(q["question"], k=5, mode="hybrid")
        found += any(h.chunk.doc_id == f"kb/{q['source']}" for h in hits)
    assert found / len(answerable) >= 0.9, f"source page in top 5 for {found}/{len(answerable)}"


def test_hybrid_is_at_least_as_good_as_its_parts_on_demo(demo_project):
    answerable = [q for q in QUESTIONS if q["answer"]]

    def mrr(mode: str) -> float:
        total = 0.0
        for q in answerable:
            ids = [h.chunk.doc_id for h in demo_project.retriever.search(q["question"], k=10, mode=mode)]
            target = f"kb/{q['source']}"
            total += 1 / (ids.index(target) + 1) if target in ids else 0.0
        return total / len(answerable)

    hybrid = mrr("hybrid")
    assert hybrid >= min(mrr("dense"), mrr("bm25"))
    assert hybrid > 0.7


def test_metadata_filter_on_real_index(demo_project):
    hits = demo_project.retriever.search("API rate limit per minute", k=5, where=[])
    assert any(h.chunk.metadata.get("product_version") == "3.2" for h in
               demo_project.retriever.search("Team plan rate limit in 3.2", k=10))
    from ragtune.stores.filters import parse_filters

    filtered = demo_project.retriever.search("API rate limit per minute", k=5,
                                             where=parse_filters(["product_version=4.0", "category=api"]))
    assert filtered and hits
    assert all(h.chunk.metadata["product_version"] == "4.0" and h.chunk.metadata["category"] == "api"
               for h in filtered)


def test_smollm2_answers_with_citations_and_refuses_the_unanswerable(demo_project):
    rag = resolve(demo_project, "rag")  # the default prompt: the rules, the built-in worked examples, cut passages
    gen = demo_project.generator(rag.generator)
    cfg = demo_project.config.answer

    def ask(question: str):
        return answer(question, demo_project.retriever, gen, cfg, system=rag.system, shots=rag.shots,
                      context_words=rag.context_words)

    # q18: SmolLM2 answers it in one sentence; on others it often appends an invented one, which the
    # support check rightly marks unsupported (and drops the inferred citation)
    answerable = next(q for q in QUESTIONS if q["answer"] and q["_id"] == "q18")
    a = ask(answerable["question"])
    assert not a.refused and answerable["answer"] in a.text
    assert a.completion_tokens > 0 and a.prompt_tokens > 100
    assert a.supported is True and a.reason == ""
    assert a.citations and all(c.doc_id.startswith("kb/") for c in a.citations)
    unanswerable = [q for q in QUESTIONS if not q["answer"]]
    refused = sum(ask(q["question"]).refused for q in unanswerable)
    assert refused >= len(unanswerable) // 2
