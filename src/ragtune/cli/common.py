"""What every command shares: the project option, JSON output, progress bars, error exits."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ragtune.config import ComponentSpec
from ragtune.project import DEFAULT_DIR, Project

console = Console(stderr=True)  # progress and messages; stdout stays clean for --json
out = Console(soft_wrap=True)

EXIT_ERROR = 2
EXIT_PARTIAL = 3  # the command did its work, but skipped some input: see the messages

ProjectOpt = Annotated[Path, typer.Option("--project", "-p", envvar="RAGTUNE_PROJECT",
                                          help="project folder (config, index, jobs)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON on stdout")]
DEFAULT_PROJECT = Path(DEFAULT_DIR)


def field_docs(cls: type) -> dict[str, str]:
    """Each dataclass field's docstring (the string under it): a config's help text is written once, in
    the dataclass, and the CLI's flags take it from there."""
    import ast
    import inspect

    body = ast.parse(inspect.getsource(cls)).body[0].body
    return {node.target.id: nxt.value.value for node, nxt in zip(body, body[1:])
            if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr)}


def open_project(path: Path) -> Project:
    return Project(path)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@contextmanager
def progress_bars(enabled: bool = True) -> Iterator[Callable[..., None]]:
    """A callback ``(stage, n, total=None)`` that advances one bar per stage; bars appear as stages
    start, and show a count of a total once a call gives it."""
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True, disable=not enabled) as bars:
        tasks: dict[str, Any] = {}

        def advance(stage: str, n: int, total: int | None = None) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            elif total is not None:
                bars.update(tasks[stage], total=total)
            bars.advance(tasks[stage], n)

        yield advance


def generator_spec(project: Project, model: str | None, base_url: str | None) -> ComponentSpec | None:
    """--model / --base-url override the project's generator for one command."""
    if base_url:
        return ComponentSpec(type="openai", params={"model": model or "default", "base_url": base_url})
    if model and model.startswith("ft:"):
        from ragtune.finetune.registry import tuned_model_spec

        return tuned_model_spec(project, model)
    if model:
        base = project.config.generator
        params = dict(base.params) if base.type == "llamacpp" else {}
        return ComponentSpec(type="llamacpp", params={**params, "model": model})
    return None


def system_prompt(project: Project, model: str | None) -> str:
    """The answering rules: a tuned model (ft:<id>) gets the system message it was trained with."""
    from ragtune.rag.prompts import SYSTEM

    if model and model.startswith("ft:"):
        from ragtune.finetune.registry import trained_system_prompt

        return trained_system_prompt(project, model) or SYSTEM
    return SYSTEM
