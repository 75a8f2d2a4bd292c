"""Options and helpers that several commands share, so that no command module imports another."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.prompt import Confirm, IntPrompt
from rich.text import Text

from ragtune.cli.common import console, open_project, out, styled
from ragtune.config import AnswerConfig, field_help
from ragtune.cost.model import CostInputs
from ragtune.decide.answers import Answers, read_answers_file, validate_answers
from ragtune.errors import RagtuneError, validation_problems
from ragtune.rag.answer import Answer
from ragtune.rag.check import Outcome
from ragtune.serve.interactions import InteractionLog, log_path
from ragtune.serve.state import default_url, open_state, state_url
from ragtune.yaml_file import read_mapping

ModelOpt = Annotated[str | None, typer.Option(
    "--model", "-m", help="smollm2-135m (default), qwen2.5-coder-0.5b, a GGUF path, or with --base-url "
                          "the endpoint's model name")]
BaseUrlOpt = Annotated[str | None, typer.Option(
    "--base-url", envvar="RAGTUNE_BASE_URL", help="OpenAI-compatible endpoint (key from OPENAI_API_KEY)")]
GenerateQuestionsOpt = Annotated[int, typer.Option(
    "--generate-questions", help="questions written per sampled chunk by the generator (--model / --base-url)")]
ChunksOpt = Annotated[int, typer.Option("--chunks", help="chunks sampled for --generate-questions")]
ExamplesOpt = Annotated[bool | None, typer.Option(
    "--examples/--no-examples", help=field_help(AnswerConfig, "worked_examples").replace("null", "unset"),
    show_default=False)]


def print_answer(a: Answer) -> None:
    """The answer, marked when it was refused or is the passage's (its supporting sentence, or the yes or no a
    sentence gives) shown in place of the model's unsupported one (the reason says why), then its citations."""
    label, style = ("A (refused):", "bold yellow") if a.refused else \
        ("A (from the passage):", "bold cyan") if a.check is Outcome.replaced else ("A:", "bold green")
    out.print(styled("Q:", "bold", a.question))
    out.print(styled(label, style, a.text))
    if a.reason:
        out.print(Text(f"   ({a.reason})", style="dim"))
    for c in a.citations:
        note = " (inferred from overlap)" if c.inferred else ""
        out.print(f"   [{c.n}] {c.doc_id} · chunk {c.chunk_index} · {c.title}{note}")


FilterOpt = Annotated[list[str] | None, typer.Option(
    "--filter", "-f", help="metadata filter applied inside the search: key=value, key!=value, "
                           "'key in a,b', key>=2026-01-01 (repeatable; all must hold)")]


def require_index(p) -> None:
    if p.index_spec() is None:
        raise RagtuneError(f"no index in {p.root}; run 'ragtune ingest PATH' first")


SinceOpt = Annotated[str | None, typer.Option(help="only interactions from this date on (YYYY-MM-DD, UTC, or an "
                                                   "ISO timestamp)")]


def parse_since(since: str | None) -> float | None:
    if not since:
        return None
    try:
        when = dt.datetime.fromisoformat(since)
    except ValueError:
        raise RagtuneError(f"--since expects a date like 2026-01-31, got {since!r}") from None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


def open_log(project: Path) -> InteractionLog:
    p = open_project(project)
    if state_url(p) == default_url(p) and not log_path(p).exists():
        raise RagtuneError(f"no interactions logged in {p.root}; they are recorded by 'ragtune serve'")
    return open_state(p)


AnswersOpt = Annotated[Path | None, typer.Option("--answers", help="YAML file of answers, keyed by the flag names "
                                                 "with underscores (e.g. labelled_examples: 120); flags override it")]
BakeoffOpt = Annotated[Path | None, typer.Option("--bakeoff", help="a bake-off output folder (results.json): "
                                                 "measured quality, latency and cost fold into the decision")]
PricesOpt = Annotated[Path | None, typer.Option("--prices", help="price file overriding the shipped prices.yaml "
                                                "entry by entry (see ragtune cost --print-prices)")]


def _count(question: str) -> int:
    while (n := IntPrompt.ask(question, console=console)) < 0:
        console.print("a count cannot be negative")
    return n


def collect_answers(path: Path | None, given: dict[str, Any]) -> Answers:
    """The file, then the flags over it, then a prompt for each question still unanswered. Prompts go to
    stderr (rich's, unlike click's, write nothing to stdout), so --json output stays clean."""
    data = read_answers_file(path) if path else {}
    data |= {k: v for k, v in given.items() if v is not None}
    for name, info in Answers.model_fields.items():
        if name in data:
            continue
        try:
            if info.annotation is bool:  # no default: an empty line asks again rather than meaning "no"
                data[name] = Confirm.ask(info.description or name, console=console)
            else:
                data[name] = _count(info.description or name)
        except EOFError:
            flag = "--" + name.replace("_", "-")
            raise RagtuneError(f"no answer to {info.description!r}: pass {flag} or --answers FILE") from None
    return validate_answers(data)


InputsOpt = Annotated[Path | None, typer.Option("--inputs", help="YAML file of workload inputs (the option names "
                                                "with underscores); options override it")]


def cost_inputs(path: Path | None, given: dict[str, Any]) -> CostInputs:
    data: dict[str, Any] = {}
    if path:
        data = read_mapping(path, "inputs file", "a mapping of input: value")
    data |= {k: v for k, v in given.items() if v is not None}
    try:
        return CostInputs.model_validate(data)
    except ValidationError as e:
        problems = validation_problems(e)
        raise RagtuneError(f"invalid cost inputs: {problems}") from None
