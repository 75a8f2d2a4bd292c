"""Judgments cached like generations (``cache.py``): keyed by the judge's model, the prompt version and
everything it was shown, so a re-run of a bake-off asks the judge only about what changed."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from ragtune.evaluation.judge import AnswerJudge, Judgment
from ragtune.evaluation.judge_prompt import JUDGE_PROMPT_VERSION


class JudgmentCache:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("create table if not exists judgments (key text primary key, judgment text)")

    @staticmethod
    def key(model: str, question: str, reference: str, answer: str, passages: Sequence[str]) -> str:
        blob = json.dumps({"model": model, "prompt_version": JUDGE_PROMPT_VERSION, "question": question,
                           "reference": reference, "answer": answer, "passages": list(passages)},
                          sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, key: str) -> Judgment | None:
        row = self._db.execute("select judgment from judgments where key = ?", (key,)).fetchone()
        return Judgment.model_validate_json(row[0]) if row else None

    def put(self, key: str, judgment: Judgment) -> None:
        with self._db:
            self._db.execute("insert or replace into judgments values (?, ?)", (key, judgment.model_dump_json()))


class CachedJudge:
    """A judge that answers from the cache when it can; ``hit`` says whether the last judgment was cached.
    An unparsed judgment is cached too: its retries were spent, and the same prompt gets the same reply."""

    def __init__(self, inner: AnswerJudge, model: str, cache: JudgmentCache):
        self.inner, self.model, self.cache, self.hit = inner, model, cache, False

    def judge(self, question: str, reference: str, answer: str, passages: Sequence[str]) -> Judgment:
        key = self.cache.key(self.model, question, reference, answer, passages)
        found = self.cache.get(key)
        self.hit = found is not None
        if found is None:
            found = self.inner.judge(question, reference, answer, passages)
            self.cache.put(key, found)
        return found
