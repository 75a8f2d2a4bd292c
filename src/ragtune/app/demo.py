"""The demo: the shipped knowledge base of a fictional product (src/ragtune/demo/README.md), its questions
asked of one variant as ``ask`` asks them, and each answer scored against its reference by the one rule of
``evaluation.outcome`` (right answer, right refusal, wrong, wrong refusal)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from ragtune.app.variants import Variant
from ragtune.evaluation.outcome import Outcome, outcome
from ragtune.evaluation.qa import Question, ask, to_row
from ragtune.jsonl import read_lines
from ragtune.project import Project
from ragtune.rag.answer import Answer
from ragtune.rag.checkers import checker

DEMO = files("ragtune") / "demo"


def kb_path() -> Path:
    return Path(str(DEMO / "kb"))


def demo_questions_path() -> Path:
    return Path(str(DEMO / "questions.jsonl"))


def demo_rows() -> list[dict]:
    """The demo questions as stored: {_id, question, answer, source}; an empty answer marks one the knowledge
    base does not answer."""
    return [json.loads(line) for line in read_lines(demo_questions_path())]


@dataclass
class DemoAnswer:
    answer: Answer
    reference: str
    source: str
    """The page holding the reference, relative to the knowledge base; empty when none does."""
    outcome: Outcome

    @property
    def citation(self) -> str:
        """The document the answer cites first; empty when it cites none."""
        return self.answer.citations[0].doc_id if self.answer.citations else ""

    def to_dict(self) -> dict:
        return {**self.answer.to_dict(), "citation": self.citation, "reference": self.reference,
                "source": self.source, "outcome": self.outcome.value, "right": self.outcome.right}


@dataclass
class DemoScore:
    answers: list[DemoAnswer]

    @property
    def right(self) -> int:
        return sum(a.outcome.right for a in self.answers)

    def counts(self) -> dict[Outcome, int]:
        return {o: sum(a.outcome is o for a in self.answers) for o in Outcome}

    def to_dict(self) -> dict:
        return {"questions": len(self.answers), "right": self.right,
                "outcomes": {o.value: n for o, n in self.counts().items()}}


def run_demo(project: Project, variant: Variant, shown: Callable[[DemoAnswer], None] = lambda a: None) -> DemoScore:
    """Every demo question asked of ``variant`` over ``project``'s index (the knowledge base ingested into it);
    each scored answer goes to ``shown`` as it comes."""
    cfg = project.config
    generator, support = project.generator(variant.generator), checker(cfg.checker)
    answers = []
    for row in demo_rows():
        q = Question(row["_id"], row["question"], row["answer"])
        a = ask(q, variant, project.retriever, generator, cfg.answer, cfg.retrieval.mode, support)
        answers.append(DemoAnswer(a, q.answer, row["source"], outcome(to_row(q, a))))
        shown(answers[-1])
    return DemoScore(answers)
