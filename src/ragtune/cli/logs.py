from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from ragtune.cli.common import DEFAULT_PROJECT, JsonOpt, ProjectOpt, console, open_project, out, print_json
from ragtune.errors import RagtuneError
from ragtune.finetune.dataset import MIN_EXAMPLES
from ragtune.serve.interactions import InteractionLog, log_path

app = typer.Typer(no_args_is_help=True, help="The served interactions: export them for the next fine-tune.")

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
    if not log_path(p).exists():
        raise RagtuneError(f"no interactions logged in {p.root}; they are recorded by 'ragtune serve'")
    return InteractionLog(log_path(p))


@app.command("export")
def export_cmd(
    finetune: Annotated[Path, typer.Option("--finetune", help="write chat fine-tuning JSONL here")],
    min_rating: Annotated[str, typer.Option(help="up: approved answers only; down: every rated answer "
                                                 "(corrected answers are always taken, with the correction)")] = "up",
    since: SinceOpt = None,
    force: Annotated[bool, typer.Option(help="overwrite the output file")] = False,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_: JsonOpt = False,
):
    """Approved and corrected interactions as chat JSONL (check it with `ragtune data validate`)."""
    from ragtune.serve.export import export_finetune

    report = export_finetune(open_log(project), finetune, min_rating, parse_since(since), force)
    if json_:
        print_json(report.to_dict())
        return
    out.print(f"{report.examples} examples ({report.approved} approved, {report.corrected} corrected) -> "
              f"{report.path}", highlight=False)
    if report.without_bodies:
        console.print(Text(f"{report.without_bodies} rated interactions were logged without bodies "
                           "(serve.log_bodies off) and could not be exported", style="yellow"))
    if report.examples < MIN_EXAMPLES:
        console.print(Text(f"fewer than {MIN_EXAMPLES} examples: not enough to fine-tune yet", style="yellow"))
