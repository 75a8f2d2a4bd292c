"""``ragtune store``: inspect the project's vector store, copy it to another backend, switch to it."""

from __future__ import annotations

from typing import Annotated

import typer

from ragtune.cli.common import DEFAULT_PROJECT, JsonOpt, ProjectOpt, console, open_project, out, print_json, progress_bars
from ragtune.stores.url import parse_store_url, store_from_url

app = typer.Typer(no_args_is_help=True, help="Inspect, migrate and switch the project's vector store.")
URL_HELP = ("store URL, e.g. qdrant+http://host:6333, milvus:///data/x.db, chroma+http://host:8000, "
            "postgresql://user@host/db, pinecone://INDEX (see ragtune/stores/url.py)")
UrlArg = Annotated[str, typer.Argument(help=URL_HELP)]


@app.command("info")
def info_cmd(project: ProjectOpt = DEFAULT_PROJECT, json_: JsonOpt = False):
    """The configured store and what it holds."""
    p = open_project(project)
    states = p.store.documents()
    data = {"store": p.config.store.model_dump(), "chunks": p.store.count(), "documents": len(states),
            "incomplete": sum(not s.complete for s in states.values())}
    if json_:
        print_json(data)
    else:
        out.print(f"{data['store']['type']} {data['store']['params'] or ''}: {data['chunks']} chunks in "
                  f"{data['documents']} documents ({data['incomplete']} incomplete)", highlight=False)


@app.command("migrate")
def migrate_cmd(
    to: Annotated[str, typer.Option("--to", help=URL_HELP)],
    use: Annotated[bool, typer.Option("--use", help="after a verified copy, switch the project's config to it")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="chunks read and written per request")] = 2000,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_: JsonOpt = False,
):
    """Copy the index to another backend with its stored vectors (no re-embedding), verified by counts
    and checksums. The source is only read; the target must be empty."""
    from ragtune.stores.migrate import migrate

    p = open_project(project)
    target = store_from_url(to, p.root)
    with p.lock(), progress_bars(not json_) as bar:  # no ingest may change the source mid-copy
        report = migrate(p.store, target, batch_size=batch_size, progress=bar)
        if use:
            p.config.store = parse_store_url(to)
            p.save()
    if json_:
        print_json({**report.to_dict(), "switched": use})
    else:
        out.print(f"copied {report.chunks} chunks of {report.documents} documents in {report.seconds:.1f}s; "
                  f"verified (checksum {report.checksum[:16]})", highlight=False)
        console.print("the project now uses the new store" if use else
                      f"switch with: ragtune store use '{to}'", highlight=False)


@app.command("use")
def use_cmd(url: UrlArg, project: ProjectOpt = DEFAULT_PROJECT, json_: JsonOpt = False):
    """Point the project's config at another store (after checking it answers)."""
    p = open_project(project)
    chunks = store_from_url(url, p.root).count()
    p.config.store = parse_store_url(url)
    p.save()
    if json_:
        print_json({"store": p.config.store.model_dump(), "chunks": chunks})
    else:
        out.print(f"the project now uses {url} ({chunks} chunks)", highlight=False)
