"""The grounded reader that ships for the packaged SmolLM2: what it was trained on excludes the demo knowledge base
and its questions and the mini-wiki questions every benchmark holds out, it is the file its manifest names, and
``rag`` on the packaged model asks it the way it was trained (a config switch turns it off)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from conftest import make_project
from ragtune.app.variants import READER_TARGET, resolve
from ragtune.config import AnswerConfig, ComponentSpec
from ragtune.errors import RagtuneError
from ragtune.evaluation.held_out import held_out_split
from ragtune.packaged import reader_adapter
from ragtune.raft.format import target_system
from ragtune.rag.prompts import SYSTEM

MANIFEST = json.loads((reader_adapter().parent / "manifest.json").read_text())
MINIWIKI = Path(__file__).resolve().parents[3] / "shared" / "data" / "miniwiki"
DEMO = Path(__file__).resolve().parents[2] / "src" / "ragtune" / "demo"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().split("\n") if x.strip()]  # texts hold U+2028


def test_the_packaged_adapter_is_the_one_its_manifest_describes_and_fits_the_budget():
    data = reader_adapter().read_bytes()
    assert hashlib.sha256(data).hexdigest() == MANIFEST["adapter_sha256"] and len(data) <= 20_000_000
    assert MANIFEST["examples"] == len(MANIFEST["questions"]) > 300


def test_no_held_out_mini_wiki_question_was_trained_on():
    held = MANIFEST["held_out"]
    evaluated, rest = held_out_split(MINIWIKI / "questions.dev.jsonl", held["first"], held["seed"])
    held_out = {r["question"].strip() for r in evaluated}
    trained = set(MANIFEST["questions"])
    assert len(held_out) == held["first"] == 100 and not trained & held_out
    assert trained <= {r["question"].strip() for r in rest}


def test_nothing_from_the_demo_knowledge_base_or_its_questions_was_trained_on():
    demo_questions = {r["question"].strip() for r in _jsonl(DEMO / "questions.jsonl")}
    assert not set(MANIFEST["questions"]) & demo_questions
    passages = {r["_id"] for r in _jsonl(MINIWIKI / "passages.jsonl")}
    oracle_docs = {c.rsplit("#", 1)[0] for c in MANIFEST["oracle_chunks"]}
    kb = {p.relative_to(DEMO / "kb").as_posix() for p in (DEMO / "kb").rglob("*") if p.is_file()}
    assert oracle_docs <= passages and not any(doc.endswith(tuple(kb)) for doc in oracle_docs)


def test_rag_on_the_packaged_model_asks_the_reader_with_its_trained_rules(tmp_path):
    assert resolve(make_project(tmp_path / "d", generator=ComponentSpec(type="llamacpp")), "rag").model == \
        "smollm2-135m"  # off unless asked for (docs/reader.md says why)
    project = make_project(tmp_path / "p", generator=ComponentSpec(type="llamacpp"), answer=AnswerConfig(reader=True))
    rag = resolve(project, "rag")
    assert MANIFEST["recipe"]["raft"]["target"] == READER_TARGET == "answer"
    assert rag.generator.params["adapter"] == str(reader_adapter()) and rag.system == target_system("answer") == SYSTEM
    assert rag.model == "smollm2-135m+reader" and rag.ends_at_citation
    for other in (resolve(project, "base"), resolve(project, "rag", model="qwen2.5-coder-0.5b"),
                  resolve(project, "fewshot+rag", shots=[("Who?", "Ada")])):
        assert "adapter" not in other.generator.params and not other.ends_at_citation
    project.config.answer.reader = False
    plain = resolve(project, "rag")
    assert "adapter" not in plain.generator.params and plain.system == SYSTEM and not plain.ends_at_citation


def test_a_missing_reader_is_a_clear_error(tmp_path, monkeypatch):
    project = make_project(tmp_path / "p", generator=ComponentSpec(type="llamacpp"), answer=AnswerConfig(reader=True))
    monkeypatch.setattr("ragtune.app.variants.reader_adapter", lambda: tmp_path / "gone.gguf")
    with pytest.raises(RagtuneError, match=r"answer\.reader"):
        resolve(project, "rag")
