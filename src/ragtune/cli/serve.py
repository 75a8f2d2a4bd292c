from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from ragtune.cli.common import DEFAULT_PROJECT, ProjectOpt, console
from ragtune.config import ServeConfig, field_help


def serve_cmd(
    project: ProjectOpt = DEFAULT_PROJECT,
    host: Annotated[str | None, typer.Option(help=field_help(ServeConfig, "host") + "; default: serve.host")] = None,
    port: Annotated[int | None, typer.Option(help=field_help(ServeConfig, "port") + "; default: serve.port")] = None,
    warm: Annotated[bool, typer.Option(help="load the embedder, index and weighted models before taking requests")
                    ] = True,
):
    """Serve the project as an OpenAI-compatible API (chat, models, embeddings) plus ingest, search, feedback.

    Docs at /docs. Variants, A/B weights and limits come from the config's `serve` section and are re-read
    when config.json changes."""
    import uvicorn

    from ragtune.serve.app import create_app
    from ragtune.serve.state import key_store
    from ragtune.serve.warm import warm_up

    app = create_app(project)
    live = app.state.live
    cfg = live.project.config.serve
    live_keys = [k for k in key_store(live.project).list() if k.revoked is None]
    if cfg.require_key and not live_keys:
        console.print(Text(f"no API key yet: every request will get 401; run 'ragtune keys create -p {project}'",
                           style="yellow"))
    if unscoped := [k.id for k in live_keys if k.scopes is None]:
        console.print(Text(f"{len(unscoped)} key(s) made before scopes ({', '.join(unscoped)}) may chat and ingest; "
                           "give an application a chat-only key ('ragtune keys create --scope chat') and revoke "
                           "these", style="yellow"))
    if warm:
        warm_up(live.project)
    host, port = host or cfg.host, port or cfg.port
    console.print(f"serving {project} at http://{host}:{port}/v1 (docs: http://{host}:{port}/docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
