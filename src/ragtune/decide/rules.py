"""Loads the rule tables (rules.yaml) and matches a row's conditions against facts."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from ragtune.app.variants import UNTRAINED
from ragtune.decide.answers import Answers

ANSWER_FACTS = ("dynamic", "citations", "behaviour", "ready", "scale", "pressure", "iterating", "both")
EVIDENCE_FACTS = ("best_untrained", "tuned_vs_best", "ft_vs_best", "ftrag_vs_best", "fewshot_vs_best", "rag_vs_best",
                  "fewshot_measured", "ft_cheaper", "ft_faster", "above_break_even", "bakeoff", "unclear", "tuned_rival")
PROMPT = "prompt"
"""An evidence row's ``then`` that means the strongest untrained variant the bake-off measured."""

FACTS = (*ANSWER_FACTS, "recommendation", "decided_by", *EVIDENCE_FACTS)


def matches(when: dict[str, Any], facts: dict[str, Any]) -> bool:
    """Every condition holds: the fact equals the value, or is one of a list of values."""
    return all(facts[k] in v if isinstance(v, list) else facts[k] == v for k, v in when.items())


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")
    when: dict[str, Any]


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str
    fact: str
    if_true: str
    if_false: str


class Rule(_Row):
    id: str
    recommend: str
    because: str


class EvidenceRule(_Row):
    id: str
    then: str
    because: str


class Note(_Row):
    text: str


class RuleBook(BaseModel):
    model_config = ConfigDict(extra="forbid")
    thresholds: dict[str, int]
    recommendations: dict[str, str]
    questions: list[Question]
    rules: list[Rule]
    evidence: list[EvidenceRule]
    caveats: list[Note]
    measure_next: list[Note]

    @model_validator(mode="after")
    def _consistent(self) -> RuleBook:
        """A typo in the table would silently never match: reject it when the table is loaded."""
        rows = [*self.rules, *self.evidence, *self.caveats, *self.measure_next]
        unknown = {k for row in rows for k in row.when} - set(FACTS)
        if unknown:
            raise ValueError(f"unknown fact(s) in conditions: {sorted(unknown)}")
        targets = {r.recommend for r in self.rules} | ({e.then for e in self.evidence} - {"keep", PROMPT})
        targets |= set(UNTRAINED) if any(e.then == PROMPT for e in self.evidence) else set()  # what it can become
        if targets - set(self.recommendations):
            raise ValueError(f"unknown recommendation(s): {sorted(targets - set(self.recommendations))}")
        if [q.field for q in self.questions] != list(Answers.model_fields):
            raise ValueError("questions must list every Answers field, in its order")
        if self.rules[-1].when:
            raise ValueError("the last rule must have no conditions, so every answer gets a recommendation")
        return self


@cache
def load_rules() -> RuleBook:
    text = resources.files("ragtune.decide").joinpath("rules.yaml").read_text(encoding="utf-8")
    return RuleBook.model_validate(yaml.safe_load(text))
