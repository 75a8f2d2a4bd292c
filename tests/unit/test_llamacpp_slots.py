"""The llama.cpp generator's concurrency, on a fake xllamacpp module: the server it starts has the configured
slots (each with a whole context window), concurrent first requests start one server, and requests from
several threads reach it at once (nothing in ragtune serialises them; llama.cpp batches its busy slots)."""

from __future__ import annotations

import sys
import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from ragtune.config import ComponentSpec
from ragtune.errors import RagtuneError
from ragtune.generation import GENERATORS
from ragtune.generation.llamacpp import LlamaCppGenerator
from ragtune.project import build

SLOTS = 4


class Params:
    """What llama.cpp's CommonParams offers that the generator sets."""

    def __init__(self):
        self.model = types.SimpleNamespace(path="")
        self.cpuparams = types.SimpleNamespace(n_threads=-1)
        self.cpuparams_batch = types.SimpleNamespace(n_threads=-1)
        self.sampling = types.SimpleNamespace(seed=-1)
        self.lora_adapters = []
        self.n_ctx = self.n_parallel = 0


class FakeServer:
    """Answers once ``together`` requests are inside it at the same time: serialised requests never get there
    and the barrier breaks (after a generous timeout, so a slow machine cannot fail it)."""

    started: ClassVar[list[FakeServer]] = []
    together = SLOTS

    def __init__(self, params: Params):
        self.params = params
        self.barrier = threading.Barrier(self.together, timeout=60)
        self.requests: list[dict] = []
        FakeServer.started.append(self)
        time.sleep(0.05)  # loading takes a while: long enough for racing first requests to start one each

    def handle_chat_completions(self, request, callback=None):
        self.requests.append(request)
        self.barrier.wait()
        text = f"answer to {request['messages'][-1]['content']}"
        return {"choices": [{"message": {"content": text}}], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}


@pytest.fixture
def fake_llamacpp(monkeypatch, tmp_path):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    module = types.SimpleNamespace(CommonParams=Params, Server=FakeServer,
                                   CommonAdapterLoraInfo=lambda path, scale: (path, scale))
    monkeypatch.setitem(sys.modules, "xllamacpp", module)
    monkeypatch.setattr(FakeServer, "started", [])
    return gguf


def ask(gen: LlamaCppGenerator, n: int) -> list[str]:
    messages = [[{"role": "user", "content": f"q{i}"}] for i in range(n)]
    with ThreadPoolExecutor(n) as pool:
        return [c.text for c in pool.map(lambda m: gen.generate(m, max_tokens=8), messages)]


def test_the_server_gets_the_configured_slots_each_with_the_whole_context(fake_llamacpp):
    gen = build(GENERATORS, ComponentSpec(type="llamacpp", params={"model": str(fake_llamacpp), "context": 1024,
                                                                  "threads": 1, "slots": 3}))
    gen.warm_up()
    (server,) = FakeServer.started
    p = server.params
    assert (p.n_parallel, p.n_ctx, p.cpuparams.n_threads, p.cpuparams_batch.n_threads) == (3, 3072, 1, 1)
    assert p.model.path == str(fake_llamacpp) and p.lora_adapters == []


def test_concurrent_requests_reach_one_server_together(fake_llamacpp):
    gen = LlamaCppGenerator(model=str(fake_llamacpp), slots=SLOTS)
    # none has started the server yet: the first requests race to start it, and all of them must be in it at once
    assert ask(gen, SLOTS) == [f"answer to q{i}" for i in range(SLOTS)]
    assert len(FakeServer.started) == 1
    assert ask(gen, SLOTS) == [f"answer to q{i}" for i in range(SLOTS)]  # and again, on the running server
    assert len(FakeServer.started) == 1


def test_the_adapter_is_given_to_the_server_of_its_generator(fake_llamacpp, tmp_path):
    gen = LlamaCppGenerator(model=str(fake_llamacpp), adapter=str(tmp_path / "lora.gguf"), slots=1)
    gen.warm_up()
    assert FakeServer.started[0].params.lora_adapters == [(str(tmp_path / "lora.gguf"), 1.0)]
    assert FakeServer.started[0].params.n_parallel == 1


@pytest.mark.parametrize("slots", [0, -2])
def test_fewer_than_one_slot_is_refused_with_a_clear_error(slots):
    with pytest.raises(RagtuneError, match=f"slots must be at least 1, got {slots}"):
        build(GENERATORS, ComponentSpec(type="llamacpp", params={"slots": slots}))


@pytest.mark.parametrize("cache", [True, False])
def test_each_request_says_whether_llama_cpp_may_start_from_the_cached_prompt(fake_llamacpp, monkeypatch, cache):
    monkeypatch.setattr(FakeServer, "together", 1)
    gen = LlamaCppGenerator(model=str(fake_llamacpp), prompt_cache=cache, slots=1)
    gen.generate([{"role": "user", "content": "q"}], max_tokens=4)
    assert [r["cache_prompt"] for r in FakeServer.started[0].requests] == [cache]


def test_a_packaged_q4_1_model_is_served_re_quantised_and_a_path_only_when_asked(fake_llamacpp, monkeypatch,
                                                                                   tmp_path):
    import gguf
    from gguf.quants import quantize

    from ragtune.generation import models
    from tiny_gguf import write_model

    monkeypatch.setenv("RAGTUNE_CACHE", str(tmp_path / "cache"))
    weights = quantize(np.ones((2, 32), np.float32), gguf.GGMLQuantizationType.Q4_1)
    model = write_model(tmp_path / "q41.gguf", {"w": (weights, gguf.GGMLQuantizationType.Q4_1)})
    monkeypatch.setitem(models.PACKAGED, "tiny-packaged", lambda: model)
    monkeypatch.setitem(models.SERVED_AS, "tiny-packaged", "Q8_0")  # packaged as Q4_1, like SmolLM2
    monkeypatch.setitem(models.PACKAGED, "tiny-packaged-as-is", lambda: model)  # like Qwen: not listed

    def served(**params) -> Path:
        LlamaCppGenerator(slots=1, **params).warm_up()
        return Path(FakeServer.started[-1].params.model.path)

    converted = served(model="tiny-packaged")  # a packaged Q4_1 model: Q8_0 unless told otherwise
    assert converted.parent == tmp_path / "cache" and converted.name.endswith(".q8_0.gguf")
    assert {t.tensor_type.name for t in gguf.GGUFReader(converted).tensors} == {"Q8_0"}
    assert served(model="tiny-packaged", requantize="") == model
    assert served(model="tiny-packaged-as-is") == model
    assert served(model=str(model)) == model  # a path: as it is, unless asked
    assert served(model=str(model), requantize="Q4_0").name.endswith(".q4_0.gguf")


def test_an_unreadable_model_and_an_unknown_type_are_named(fake_llamacpp):
    with pytest.raises(RagtuneError, match="not a readable GGUF model"):
        LlamaCppGenerator(model=str(fake_llamacpp), requantize="Q8_0", slots=1).warm_up()
    with pytest.raises(RagtuneError, match="cannot re-quantise to 'Q2_K'"):
        LlamaCppGenerator(model=str(fake_llamacpp), requantize="Q2_K")
