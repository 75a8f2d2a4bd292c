from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from ragtune.cli.common import DEFAULT_PROJECT, JsonOpt, ProjectOpt, console, open_project, out, print_json
from ragtune.serve.keys import DEFAULT_SCOPES, KeyRecord, Scope
from ragtune.serve.state import key_store

app = typer.Typer(no_args_is_help=True, help="API keys for `ragtune serve` (stored hashed in the serve state: serve.state_url).")


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds") if ts else ""


def _row(k: KeyRecord) -> dict:
    return {"id": k.id, "name": k.name, "created": _when(k.created), "revoked": _when(k.revoked) or None,
            "scopes": [s.value for s in k.granted], "scopes_recorded": k.scopes is not None,
            "rate_limit_per_minute": k.rate_limit_per_minute, "burst": k.burst}


@app.command("create")
def create_cmd(
    name: Annotated[str, typer.Option(help="who or what uses the key")] = "default",
    scope: Annotated[list[Scope] | None, typer.Option(
        help="what the key may do, repeatable: chat (chat, search, models, embeddings, feedback), ingest "
             "(POST /v1/ingest), admin (everything, and replacing documents that came from files); "
             f"default: {', '.join(s.value for s in DEFAULT_SCOPES)} only")] = None,
    rate_limit: Annotated[float | None, typer.Option(help="requests per minute for this key "
                                                          "(default: serve.rate_limit_per_minute)")] = None,
    burst: Annotated[int | None, typer.Option(help="requests the key may send at once before the rate applies "
                                                   "(default: its per-second rate rounded up, at least 1)")] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_: JsonOpt = False,
):
    """Create a key and print it: this is the only time it is shown."""
    if burst is not None and burst < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--burst")
    if rate_limit is not None and rate_limit <= 0:
        raise typer.BadParameter("must be above 0", param_hint="--rate-limit")
    record, token = key_store(open_project(project)).create(name, rate_limit, burst, scope or DEFAULT_SCOPES)
    if json_:
        print_json({**_row(record), "key": token})
    else:
        console.print(f"created {record.id} ({name}, scopes: {', '.join(s.value for s in record.granted)}); "
                      "the key, shown only now:")
        out.print(token, highlight=False)


@app.command("list")
def list_cmd(project: ProjectOpt = DEFAULT_PROJECT, json_: JsonOpt = False):
    """List keys (ids, names, scopes; the keys themselves are not stored)."""
    rows = [_row(k) for k in key_store(open_project(project)).list()]
    if json_:
        print_json(rows)
        return
    t = Table("id", "name", "scopes", "created", "revoked", "rate limit/min", "burst", title="API keys")
    for r in rows:
        scopes = ", ".join(r["scopes"]) + ("" if r["scopes_recorded"] else " (made before scopes)")
        t.add_row(r["id"], Text(r["name"]), scopes, r["created"], r["revoked"] or "",
                  str(r["rate_limit_per_minute"] or ""), str(r["burst"] or ""))
    out.print(t)


@app.command("revoke")
def revoke_cmd(key_id: Annotated[str, typer.Argument(help="the key's id, from 'keys list'")],
               project: ProjectOpt = DEFAULT_PROJECT, json_: JsonOpt = False):
    """Revoke a key; a running server refuses it from its next request."""
    record = key_store(open_project(project)).revoke(key_id)
    if json_:
        print_json(_row(record))
    else:
        out.print(f"revoked {record.id} ({record.name})")
