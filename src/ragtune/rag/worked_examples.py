"""ragtune's built-in worked examples: three invented questions on neutral topics (none from the demo
knowledge base or the mini-wiki data), each with its numbered passages and a short answer citing the passage
that holds it. Put before the grounded prompt's question, they show a small model the answer's form (the
passage's words, a citation, nothing more); ``AnswerConfig.worked_examples`` decides when, from the
measurement in bench/worked_examples.py."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from pydantic import BaseModel, Field

from ragtune.documents.types import Chunk, Hit
from ragtune.rag.prompts import grounded_user

_FILE = files("ragtune") / "rag" / "data" / "worked_examples.jsonl"


class Passage(BaseModel):
    title: str
    text: str


class WorkedExample(BaseModel):
    question: str
    passages: list[Passage] = Field(min_length=1)
    answer: str = Field(min_length=1)
    """The passage's own words, as short as the question allows."""
    cite: int = Field(ge=1)
    """Number of the passage holding the answer."""

    def shot(self) -> tuple[str, str]:
        """The (user message, reply) pair: the passages and question as ``grounded_user`` puts retrieved ones,
        and the answer with its citation."""
        hits = [Hit(Chunk(f"example:{n}", "example", n, p.text, p.title), 1.0) for n, p in enumerate(self.passages)]
        return grounded_user(self.question, hits), f"{self.answer} [{self.cite}]"


@cache
def worked_examples() -> tuple[WorkedExample, ...]:
    return tuple(WorkedExample.model_validate_json(line) for line in _FILE.read_text().splitlines() if line.strip())


def worked_shots() -> tuple[tuple[str, str], ...]:
    return tuple(e.shot() for e in worked_examples())
