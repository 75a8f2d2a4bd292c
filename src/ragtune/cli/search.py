from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ragtune.cli.common import DEFAULT_PROJECT, JsonOpt, ProjectOpt, open_project, out, print_json
from ragtune.cli.options import FilterOpt, require_index
from ragtune.config import RetrievalConfig, field_help
from ragtune.stores.filters import parse_filters


def search_cmd(
    query: Annotated[str, typer.Argument(help="what to search for")],
    project: ProjectOpt = DEFAULT_PROJECT,
    mode: Annotated[str | None, typer.Option(help=field_help(RetrievalConfig, "mode"))] = None,
    k: Annotated[int | None, typer.Option("--k", "-k", help=field_help(RetrievalConfig, "k"))] = None,
    filter_: FilterOpt = None,
    json_: JsonOpt = False,
):
    """Retrieve the chunks that best match QUERY."""
    p = open_project(project)
    require_index(p)
    cfg = p.config.retrieval
    hits = p.retriever.search(query, k=k or cfg.k, mode=mode or cfg.mode, where=parse_filters(filter_))
    rows = [{"rank": i, "score": round(h.score, 4), "chunk_id": h.chunk.chunk_id, "doc_id": h.chunk.doc_id,
             "title": h.chunk.title, "text": h.chunk.text, "metadata": h.chunk.metadata,
             "scores": {k_: round(v, 4) for k_, v in h.scores.items()}} for i, h in enumerate(hits, start=1)]
    if json_:
        print_json(rows)
        return
    t = Table("#", "score", "chunk", "text", title=f"{mode or cfg.mode} search")
    for r in rows:
        t.add_row(str(r["rank"]), f"{r['score']:.3f}", r["chunk_id"], r["text"][:160].replace("\n", " "))
    out.print(t)
