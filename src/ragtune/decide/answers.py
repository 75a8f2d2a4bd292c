"""The team's answers to the guide's questions, in the guide's order. Each description is the question
as asked interactively and the help of its CLI flag."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragtune.errors import RagtuneError, validation_problems
from ragtune.yaml_file import read_mapping


class Answers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    knowledge_changes_weekly: bool = Field(description="Does the knowledge the model needs change weekly or more "
                                                       "often?")
    needs_citations: bool = Field(description="Must answers cite their sources?")
    behaviour_problem: bool = Field(description="Is the main problem behaviour, style or reasoning consistency, "
                                                "rather than missing facts?")
    labelled_examples: int = Field(ge=0, description="How many high-quality labelled (prompt, ideal response) "
                                                     "examples do you have?")
    queries_per_month: int = Field(ge=0, description="How many queries per month do you expect?")
    latency_or_cost_pressure: bool = Field(description="Are latency or cost per query critical?")
    still_iterating: bool = Field(description="Are you still iterating on the product?")
    needs_both: bool = Field(description="Do you need both domain behaviour and current knowledge?")


def read_answers_file(path: Path) -> dict:
    """The raw mapping; validated with the flags and prompted answers, once all are in."""
    data = read_mapping(path, "answers file", "a mapping of question: answer")
    unknown = sorted(set(data) - set(Answers.model_fields))
    if unknown:
        raise RagtuneError(f"answers file {path}: unknown question(s) {', '.join(unknown)}; known: "
                           f"{', '.join(Answers.model_fields)}")
    return data


def validate_answers(data: dict) -> Answers:
    try:
        return Answers.model_validate(data)
    except ValidationError as e:
        problems = validation_problems(e)
        raise RagtuneError(f"invalid answers: {problems}") from None
