from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from ragtune.cli.common import DEFAULT_PROJECT, JsonOpt, ProjectOpt, console, out, print_json
from ragtune.cli.options import SinceOpt, open_log, parse_since
from ragtune.finetune.dataset import MIN_EXAMPLES

app = typer.Typer(no_args_is_help=True, help="The served interactions: export them for the next fine-tune.")

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
