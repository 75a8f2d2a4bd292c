"""The ``ragtune`` command line: thin wrappers that parse, call a pipeline, and print."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ragtune.cli import (
    ab,
    ask,
    bakeoff,
    cost,
    data,
    decide,
    demo,
    drift,
    evaluate,
    export,
    ingest,
    keys,
    logs,
    project,
    raft,
    report,
    retrain,
    search,
    serve,
    store,
    tune,
)
from ragtune.cli.common import EXIT_ERROR, configure_logging, console, styled
from ragtune.errors import RagtuneError

# Help is click's plain layout (rich_markup_mode=None): rich's panels cut long flag names with "…" in a
# narrow terminal, click's wraps only the descriptions.
app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="RAG or fine-tuning? Measured on your own data, then built and served.")


@app.callback()
def _options(verbose: Annotated[int, typer.Option("--verbose", "-v", count=True,
                                                  help="show libraries' log lines too: -v INFO, -vv DEBUG")] = 0):
    configure_logging(verbose)


app.command("ingest")(ingest.ingest_cmd)
app.command("search")(search.search_cmd)
app.command("ask")(ask.ask_cmd)
app.command("demo")(demo.demo_cmd)
app.command("bakeoff")(bakeoff.bakeoff_cmd)
app.command("decide")(decide.decide_cmd)
app.command("cost")(cost.cost_cmd)
app.command("report")(report.report_cmd)
app.add_typer(evaluate.app, name="eval")
app.add_typer(project.app, name="project")
app.add_typer(data.app, name="data")
app.add_typer(tune.app, name="tune")
app.add_typer(raft.app, name="raft")
app.command("serve")(serve.serve_cmd)
app.add_typer(keys.app, name="keys")
app.add_typer(logs.app, name="logs")
app.add_typer(ab.app, name="ab")
app.command("drift")(drift.drift_cmd)
app.command("retrain")(retrain.retrain_cmd)
app.add_typer(store.app, name="store")
app.add_typer(export.app, name="export")


def main() -> None:
    try:
        app()
    except RagtuneError as e:
        console.print(styled("error:", "bold red", e))
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        console.print("interrupted; re-run the same command to pick up where it stopped")
        sys.exit(130)


if __name__ == "__main__":
    main()
