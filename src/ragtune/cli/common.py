"""What every command shares: the project option, JSON output, progress bars, error exits."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from ragtune.project import DEFAULT_DIR, Project

# Nothing printed is parsed as markup: what ragtune prints is mostly the user's text (chunks, answers, file
# names, errors quoting them), where "[/section]" would crash rich and "[red]" would colour. ragtune's own
# styling is explicit, with `styled`; tables, titles and progress descriptions stay literal too.
console = Console(stderr=True, markup=False, highlight=False)  # progress and messages; stdout stays clean for --json
out = Console(soft_wrap=True, markup=False, highlight=False)


def styled(label: str, style: str, text: object = "") -> Text:
    """ragtune's own ``label`` in ``style``, then ``text`` (the user's data) as it is, never as markup."""
    return Text.assemble((label, style), f" {text}" if text != "" else "")


def configure_logging(verbosity: int) -> None:
    """Libraries log freely: bm25s sets its own logger to DEBUG, and onnxruntime's quantiser warns on the root
    logger, which makes logging install a handler that then prints every library's records. The CLI owns the
    process's logging, so its handler replaces any other on the root: at the default verbosity only ragtune's
    own warnings and anyone's errors reach the terminal; -v shows every library's INFO, -vv its DEBUG."""
    handler = RichHandler(console=console, show_time=False, show_path=False)  # under the progress bars
    handler.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO if verbosity else logging.WARNING)
    if not verbosity:
        handler.addFilter(lambda r: r.levelno >= logging.ERROR or r.name.partition(".")[0] == "ragtune")
    logging.basicConfig(handlers=[handler], level=handler.level, format="%(name)s: %(message)s", force=True)


EXIT_ERROR = 2
EXIT_PARTIAL = 3  # the command did its work, but skipped some input: see the messages
EXIT_RETRAIN_ADVISED = 4  # `ragtune drift`: a served tuned model is stale (a scheduler's cue to run `ragtune retrain`)
EXIT_NOT_PROMOTED = 5  # `ragtune retrain` finished, but the retrained model may be worse: the served one stays alone
EXIT_NOTHING_TO_RETRAIN = 6  # `ragtune retrain`: nothing new to learn since the served model's data; no job started

ProjectOpt = Annotated[Path, typer.Option("--project", "-p", envvar="RAGTUNE_PROJECT",
                                          help="project folder (config, index, jobs)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON on stdout")]
DEFAULT_PROJECT = Path(DEFAULT_DIR)


def field_docs(cls: type) -> dict[str, str]:
    """Each dataclass field's docstring (the string under it): a config's help text is written once, in
    the dataclass, and the CLI's flags take it from there."""
    import ast
    import inspect
    from itertools import pairwise

    (class_def,) = ast.parse(inspect.getsource(cls)).body
    assert isinstance(class_def, ast.ClassDef)
    return {node.target.id: str(nxt.value.value) for node, nxt in pairwise(class_def.body)
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
            and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)}


def open_project(path: Path) -> Project:
    return Project(path)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@contextmanager
def progress_bars(enabled: bool = True) -> Iterator[Callable[..., None]]:
    """A callback ``(stage, n, total=None)`` that advances one bar per stage; bars appear as stages start,
    with a total when the caller knows one."""
    with Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True, disable=not enabled) as bars:
        tasks: dict[str, Any] = {}

        def advance(stage: str, n: int, total: int | None = None) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            elif total is not None:
                bars.update(tasks[stage], total=total)
            bars.advance(tasks[stage], n)

        yield advance
