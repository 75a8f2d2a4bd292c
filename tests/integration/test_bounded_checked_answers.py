"""The packaged SmolLM2 on the demo knowledge base: each answer stops within the answer format's token cap, and
what is shown is checked: the model's answer kept with a citation whose passage supports it, the supporting
sentence copied from its cited passage, or a refusal."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest

from ragtune.config import ComponentSpec, ProjectConfig
from ragtune.project import Project
from ragtune.rag.answer import answer
from ragtune.rag.check import Outcome
from ragtune.rag.ingest import ingest
from ragtune.rag.support import supported

pytestmark = pytest.mark.integration

DEMO = Path(str(files("ragtune") / "demo"))
QUESTIONS = [json.loads(line) for line in (DEMO / "questions.jsonl").read_text().splitlines() if line.strip()]


def test_smollm2_answers_are_bounded_and_checked(tmp_path):
    project = Project(tmp_path / "demo")
    ingest(project, [DEMO / "kb"])
    # one thread: on a machine whose cores are busy, llama.cpp's threads wait on each other (20x slower at 2)
    gen = project.generator(ComponentSpec(type="llamacpp", params={"model": "smollm2-135m", "threads": 1}))
    cfg = ProjectConfig().answer
    outcomes = []
    for q in [q for q in QUESTIONS if q["answer"]][:4]:
        a = answer(q["question"], project.retriever, gen, cfg)
        assert a.completion_tokens <= cfg.max_tokens == 64, (q["question"], a.generated)
        outcomes.append(a.check)
        if a.check is Outcome.kept:
            cited = [a.contexts[c.n - 1] for c in a.citations]
            assert cited and supported(a.text, cited, a.question) is not False, a
        elif a.check is Outcome.replaced:
            (c,) = a.citations
            sentence = a.text.removesuffix(f" [{c.n}]")
            assert sentence in a.contexts[c.n - 1].chunk.text and a.generated != a.text, a
        else:
            assert a.refused and a.reason, a
    assert any(o is not None for o in outcomes)  # the model answered, and its answers were checked
