from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ragtune.errors import RagtuneError
from ragtune.generation.models import SERVED_AS, resolve_gguf
from ragtune.generation.protocol import GENERATORS, Completion, GeneratorBase, Message
from ragtune.generation.requantize import check_target, requantized
from ragtune.packaged import cache_dir


def usable_cores() -> int:
    """The cores this process may run on: a thread per core of the machine, on a process pinned to fewer,
    time-slices llama.cpp's threads against each other, and each waits for the slowest at every step."""
    if hasattr(os, "sched_getaffinity"):  # Linux; elsewhere every core is usable
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@GENERATORS.register("llamacpp")
@dataclass
class LlamaCppGenerator(GeneratorBase):
    """A GGUF model run in-process by llama.cpp (the xllamacpp wheels: no compiler needed).

    Measured here: about 7x faster than transformers for SmolLM2 on this CPU, so it is the default
    engine for packaged models. Requests from several threads (``ragtune serve``) are generated together:
    llama.cpp's server gives each its own slot and decodes the busy slots in one batch (continuous batching);
    more requests than slots wait in llama.cpp's queue."""

    model: str = "smollm2-135m"
    """Packaged model name (smollm2-135m, qwen2.5-coder-0.5b) or a GGUF path."""
    adapter: str = ""
    """A LoRA adapter in llama.cpp's GGUF format (what a fine-tuning job exports), applied at full scale."""
    context: int = 4096
    """Context window in tokens."""
    threads: int = 0
    """CPU threads; 0 means one per core this process may run on (``taskset`` or a container's CPU set limit it)."""
    seed: int = 0
    """Sampling seed (answers are greedy by default, so this matters only with temperature > 0)."""
    slots: int = 4
    """Requests generated at once, batched together; each slot holds a whole context window of KV cache."""
    prompt_cache: bool = True
    """Start from the KV cache of a slot's last prompt (the shared rules and worked examples are not evaluated
    again). llama.cpp then evaluates the rest in other batches, which is not bit-identical, so a greedy answer
    can depend on the requests before it (measured: 13-16 of 20 answers equal across orders); off, it never
    does, and each request evaluates its whole prompt."""
    requantize: str | None = None
    """Serve the model's Q4_1 matrices as this type (Q8_0 or Q4_0; converted once, cached); '' keeps the file as
    it is. Unset: Q8_0 for the packaged SmolLM2 (it ships as Q4_1; as Q8_0 it evaluates prompts about 1.5x
    faster on CPU and is nearly the same model, 145 MB instead of 98; ``models.SERVED_AS``), any other model as
    it is (a large one would need its size again on disk and in memory)."""
    _server: Any = field(default=None, init=False, repr=False)
    _starting: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.slots < 1:
            raise RagtuneError(f"slots must be at least 1, got {self.slots}")
        check_target(self.requantize or "")

    def warm_up(self) -> None:
        with self._starting:  # concurrent first requests start one server, not one each
            if self._server is None:
                self._server = self._start()

    def _start(self) -> Any:
        import xllamacpp as xlc

        params = xlc.CommonParams()
        params.model.path = str(requantized(resolve_gguf(self.model), self._target(), cache_dir()))
        if self.adapter:
            lora = xlc.CommonAdapterLoraInfo(self.adapter, 1.0)
            params.lora_adapters = [lora]
        # llama.cpp splits n_ctx between the slots (its KV cache is not unified by default)
        params.n_ctx = self.context * self.slots
        params.n_parallel = self.slots
        params.cont_batching = True
        params.endpoint_metrics = True  # its counters show how many slots each decode step served
        threads = self.threads or usable_cores()
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.sampling.seed = self.seed
        params.verbosity = -1
        params.log_json = False
        return xlc.Server(params)

    def _target(self) -> str:
        return self.requantize if self.requantize is not None else SERVED_AS.get(self.model, "")

    @property
    def server(self) -> Any:
        self.warm_up()
        return self._server

    def _request(self, messages, max_tokens, temperature, stop) -> dict:
        return {"messages": list(messages), "max_tokens": max_tokens, "temperature": temperature,
                "seed": self.seed, "stop": stop or [], "cache_prompt": self.prompt_cache}

    def generate(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
                 stop: list[str] | None = None) -> Completion:
        result = self.server.handle_chat_completions(self._request(messages, max_tokens, temperature, stop))
        if "error" in result:
            raise RagtuneError(f"llama.cpp failed: {result['error']}")
        usage = result.get("usage", {})
        return Completion(result["choices"][0]["message"]["content"] or "",
                          usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0))

    def stream(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None) -> Iterator[Completion]:
        """Pieces as llama.cpp produces them (see generation.protocol.stream). Its streaming call blocks and
        hands chunks to a callback, so it runs in a thread feeding a queue that this iterator drains. Closing
        the iterator early stops the generation (the callback's True tells llama.cpp to), and each piece
        carries the tokens counted so far (per-token timings), so the usage holds for a stopped one too."""
        request = {**self._request(messages, max_tokens, temperature, stop), "stream": True,
                   "stream_options": {"include_usage": True}, "timings_per_token": True}
        server, chunks, done, closed = self.server, queue.Queue[Any](), object(), threading.Event()

        def take(chunk: Any) -> bool:
            chunks.put(chunk)
            return closed.is_set()

        def run() -> None:
            try:
                error = server.handle_chat_completions(request, take)
                if isinstance(error, dict) and "error" in error:
                    chunks.put(error)
            except Exception as e:  # handed to the reading side, which raises it
                chunks.put({"error": str(e)})
            chunks.put(done)

        threading.Thread(target=run, daemon=True).start()
        counted = (0, 0)
        try:
            while (chunk := chunks.get()) is not done:
                if "error" in chunk:
                    raise RagtuneError(f"llama.cpp failed: {chunk['error']}")
                text = "".join(c.get("delta", {}).get("content") or "" for c in chunk.get("choices", []))
                now = _counts(chunk) or counted
                if text or now != counted:
                    yield Completion(text, now[0] - counted[0], now[1] - counted[1])
                counted = now
        finally:
            closed.set()


def _counts(chunk: dict) -> tuple[int, int] | None:
    """(prompt, completion) tokens so far: the final chunk's usage, or a piece's per-token timings."""
    if usage := chunk.get("usage"):
        return usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    if timings := chunk.get("timings"):
        return timings.get("cache_n", 0) + timings.get("prompt_n", 0), timings.get("predicted_n", 0)
    return None
