"""``ragtune export``: results in other tools' formats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ragtune.bakeoff.ragas_export import export_ragas
from ragtune.cli.common import DEFAULT_PROJECT, JsonOpt, ProjectOpt, open_project, out, print_json

app = typer.Typer(no_args_is_help=True, help="Export results in other tools' formats.")


@app.command("ragas")
def ragas_cmd(
    out_file: Annotated[Path, typer.Argument(help="JSONL to write (ragas.EvaluationDataset.from_jsonl reads it)")],
    from_dir: Annotated[Path, typer.Option("--from", help="bake-off output folder (its answers.jsonl)")] = \
        Path("bakeoff"),
    variant: Annotated[str, typer.Option(help="which variant's answers: rag, ft+rag, base...")] = "rag",
    project: ProjectOpt = DEFAULT_PROJECT,
    json_: JsonOpt = False,
):
    """A bake-off's questions, retrieved contexts, answers and references as a Ragas evaluation dataset."""
    n = export_ragas(from_dir, open_project(project), out_file, variant)
    if json_:
        print_json({"path": str(out_file), "samples": n, "variant": variant})
    else:
        out.print(f"wrote {n} {variant} samples to {out_file}")
