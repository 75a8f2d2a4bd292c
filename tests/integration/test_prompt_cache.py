"""The packaged SmolLM2 on llama.cpp with the prompt cache off: a greedy answer does not depend on the requests
before it. With the cache on, the uncached rest of a prompt is evaluated in other batches, not bit-identically,
and some of these answers change with the order asked (2 of the 8 asked here when the default prompt
still gave the passages whole)."""

from __future__ import annotations

import pytest

from conftest import make_project
from ragtune.app.demo import demo_rows, kb_path
from ragtune.app.variants import resolve, single_question
from ragtune.config import ComponentSpec
from ragtune.generation.llamacpp import LlamaCppGenerator
from ragtune.rag.ingest import ingest

pytestmark = pytest.mark.integration


def test_without_the_prompt_cache_answers_do_not_depend_on_the_order_asked(tmp_path):
    project = make_project(tmp_path / "p", generator=ComponentSpec(type="llamacpp"))
    ingest(project, [kb_path()])
    rag = resolve(project, "rag")  # the default prompt: rules, the built-in worked examples, the passages (cut)
    prompts = [rag.messages(single_question(row["question"]), project.retriever.search(row["question"], k=4))
               for row in demo_rows()[:8]]
    gen = LlamaCppGenerator(prompt_cache=False, slots=1)

    def answers(order: list[int]) -> dict[int, str]:
        return {i: gen.generate(prompts[i], max_tokens=24).text for i in order}

    forward = answers(list(range(len(prompts))))
    assert answers(list(reversed(range(len(prompts))))) == forward
