"""Concurrent chat requests to the API with the packaged SmolLM2 on llama.cpp's parallel slots: each answer,
whole or streamed, equals the one the same server gives that request alone (greedy decoding: the batch a
sequence is decoded in does not change its tokens), and llama.cpp did decode several slots per step."""

from __future__ import annotations

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import make_project
from ragtune.app.variants import resolve
from ragtune.config import ComponentSpec
from ragtune.serve.app import create_app
from ragtune.serve.keys import Scope
from ragtune.serve.state import key_store

pytestmark = pytest.mark.integration
SLOTS = 4
QUESTIONS = ["Name three colours.", "What is the capital of France?", "Count from one to five.",
             "Give one word that rhymes with cat."]


async def ask(http: httpx.AsyncClient, question: str, stream: bool) -> str:
    body = {"model": "base", "messages": [{"role": "user", "content": question}], "max_tokens": 16,
            "temperature": 0, "stream": stream}
    r = await http.post("/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    if not stream:
        return r.json()["choices"][0]["message"]["content"]
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")]
    return "".join(c["delta"].get("content") or "" for e in events for c in e.get("choices", []))


def test_concurrent_answers_equal_their_one_at_a_time_answers(tmp_path):
    # one llama.cpp thread: on a busy machine more stall (see bench/README.md)
    project = make_project(tmp_path / "p", generator=ComponentSpec(
        type="llamacpp", params={"context": 512, "threads": 1, "slots": SLOTS}))
    data = project.config.model_dump()
    data["serve"].update(rate_limit_burst=1000)
    project.config_path.write_text(project.config.model_validate(data).model_dump_json())
    _, key = key_store(project).create("t", scopes=[Scope.chat], rate_limit_per_minute=100_000)
    app = create_app(project.root)

    async def run() -> tuple[list[str], list[str]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=600,
                                     headers={"Authorization": f"Bearer {key}"}) as http:
            alone = [await ask(http, q, stream=False) for q in QUESTIONS]
            # all at once, half of them streamed
            together = await asyncio.gather(*(ask(http, q, stream=i % 2 == 1) for i, q in enumerate(QUESTIONS)))
        return alone, list(together)

    # a loop of its own, in a thread: in a whole test run Playwright's sync API leaves a running loop behind
    with ThreadPoolExecutor(1) as pool:
        alone, together = pool.submit(asyncio.run, run()).result()
    assert all(a.strip() for a in alone)
    assert together == alone
    live = app.state.live.current()
    metrics = live.generator(resolve(live, "base").generator).server.handle_metrics()
    busy = float(re.search(r"^llamacpp:n_busy_slots_per_decode ([\d.]+)", metrics, re.MULTILINE).group(1))
    assert busy > 1  # some decode steps served several requests: they were batched, not queued
