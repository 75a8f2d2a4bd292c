from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ragtune.cli.common import (
    DEFAULT_PROJECT,
    EXIT_PARTIAL,
    JsonOpt,
    ProjectOpt,
    console,
    open_project,
    out,
    print_json,
    progress_bars,
    styled,
)
from ragtune.errors import RagtuneError
from ragtune.rag.ingest import ingest
from ragtune.stores.filters import parse_value


def _meta(pairs: list[str] | None) -> dict:
    meta = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise RagtuneError(f"--meta expects key=value, got {pair!r}")
        meta[key.strip()] = parse_value(value)
    return meta


def ingest_cmd(
    paths: Annotated[list[Path], typer.Argument(help="files and folders (.txt .md .html .pdf, BEIR .jsonl)")],
    project: ProjectOpt = DEFAULT_PROJECT,
    include: Annotated[list[str] | None, typer.Option(help="glob of files to take, e.g. '*.md' (repeatable)")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="glob of files to skip (repeatable)")] = None,
    meta: Annotated[list[str] | None, typer.Option(help="metadata key=value added to every document")] = None,
    prune: Annotated[bool, typer.Option(
        help="remove indexed documents under PATHS whose file was deleted (or, in a .jsonl corpus, whose "
             "line was); documents --include/--exclude leave out this run are kept")] = False,
    prune_excluded: Annotated[bool, typer.Option(
        help="as --prune, and also remove indexed documents under PATHS whose file exists but "
             "--include/--exclude leave out this run")] = False,
    json_: JsonOpt = False,
):
    """Index documents incrementally: new and changed ones are embedded, unchanged ones skipped.

    Exit status 3 means the index was updated but some input was skipped (listed)."""
    p = open_project(project)
    if not p.config_path.exists():
        p.save()
    try:
        with progress_bars(not json_) as progress:
            report = ingest(p, paths, include or (), exclude or (), _meta(meta), prune=prune,
                            prune_excluded=prune_excluded, progress=progress)
    except KeyboardInterrupt:
        # typer turns Ctrl-C into a bare exit 130; say what state the index is in
        console.print("interrupted: what was written is kept, and a document left half-written is "
                      "replaced when you re-run the same command")
        raise typer.Exit(130) from None
    for problem in report.problems:
        console.print(styled("skipped", "yellow", problem))
    if json_:
        print_json(report.to_dict())
    else:
        t = Table("added", "updated", "unchanged", "removed", "chunks", "skipped", "seconds", title="ingest")
        t.add_row(*(str(x) for x in (report.added, report.updated, report.unchanged, report.removed, report.chunks,
                                     len(report.problems), f"{report.seconds:.1f}")))
        out.print(t)
    if report.problems:
        raise typer.Exit(EXIT_PARTIAL)
