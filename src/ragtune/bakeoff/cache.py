"""Generations cached by prompt hash: a re-run of a bake-off only generates what changed (another
model, prompt, question or setting) and reuses the measured time of everything else."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from ragtune.generation.protocol import Completion, Generator, GeneratorBase, Message


class GenerationCache:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("create table if not exists generations (key text primary key, text text, "
                         "prompt_tokens integer, completion_tokens integer, seconds real)")

    @staticmethod
    def key(model: dict, messages: list[Message], settings: dict) -> str:
        blob = json.dumps({"model": model, "messages": messages, **settings}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, key: str) -> tuple[Completion, float] | None:
        row = self._db.execute("select text, prompt_tokens, completion_tokens, seconds from generations "
                               "where key = ?", (key,)).fetchone()
        return (Completion(row[0], row[1], row[2]), row[3]) if row else None

    def put(self, key: str, c: Completion, seconds: float) -> None:
        with self._db:
            self._db.execute("insert or replace into generations values (?, ?, ?, ?, ?)",
                             (key, c.text, c.prompt_tokens, c.completion_tokens, seconds))


class CachedGenerator(GeneratorBase):
    """A generator that answers from the cache when it can; ``seconds`` and ``hit`` describe the last call."""

    def __init__(self, inner: Generator, model: dict, cache: GenerationCache, repeat: int = 0):
        self.inner, self.model, self.cache, self.repeat = inner, model, cache, repeat
        self.seconds, self.hit = 0.0, False

    def warm_up(self) -> None:
        self.inner.warm_up()

    def to_dict(self) -> dict[str, Any]:
        return self.inner.to_dict()  # the cache is no setting: what answers is the inner generator

    def generate(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
                 stop: list[str] | None = None) -> Completion:
        settings = {"max_tokens": max_tokens, "temperature": temperature, "stop": stop, "repeat": self.repeat}
        key = self.cache.key(self.model, messages, settings)
        found = self.cache.get(key)
        if found:
            (completion, self.seconds), self.hit = found, True
            return completion
        t = time.perf_counter()
        completion = self.inner.generate(messages, max_tokens=max_tokens, temperature=temperature, stop=stop)
        self.seconds, self.hit = time.perf_counter() - t, False
        self.cache.put(key, completion, self.seconds)
        return completion
