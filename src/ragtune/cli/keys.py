from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from ragtune.cli.common import DEFAULT_PROJECT, JsonOpt, ProjectOpt, console, open_project, out, print_json
from ragtune.serve.keys import KeyRecord, key_store

app = typer.Typer(no_args_is_help=True, help="API keys for `ragtune serve` (stored hashed in the project).")


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds") if ts else ""


def _row(k: KeyRecord) -> dict:
    return {"id": k.id, "name": k.name, "created": _when(k.created), "revoked": _when(k.revoked) or None,
            "rate_limit_per_minute": k.rate_limit_per_minute}


@app.command("create")
def create_cmd(
    name: Annotated[str, typer.Option(help="who or what uses the key")] = "default",
    rate_limit: Annotated[float | None, typer.Option(help="requests per minute for this key "
                                                          "(default: serve.rate_limit_per_minute)")] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_: JsonOpt = False,
):
    """Create a key and print it: this is the only time it is shown."""
    record, token = key_store(open_project(project)).create(name, rate_limit)
    if json_:
        print_json({**_row(record), "key": token})
    else:
        console.print(f"created {record.id} ({name}); the key, shown only now:")
        out.print(token, highlight=False)


@app.command("list")
def list_cmd(project: ProjectOpt = DEFAULT_PROJECT, json_: JsonOpt = False):
    """List keys (ids and names; the keys themselves are not stored)."""
    rows = [_row(k) for k in key_store(open_project(project)).list()]
    if json_:
        print_json(rows)
        return
    t = Table("id", "name", "created", "revoked", "rate limit/min", title="API keys")
    for r in rows:
        t.add_row(r["id"], r["name"], r["created"], r["revoked"] or "", str(r["rate_limit_per_minute"] or ""))
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
