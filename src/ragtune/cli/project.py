from __future__ import annotations

import json
from typing import Annotated

import typer

from ragtune.app.settings import checked_config
from ragtune.cli.common import DEFAULT_PROJECT, JsonOpt, ProjectOpt, open_project, out, print_json
from ragtune.config import ComponentSpec, ProjectConfig, field_help
from ragtune.errors import RagtuneError
from ragtune.stores.filters import parse_value

app = typer.Typer(no_args_is_help=True, help="Create and inspect a project's configuration.")


def _set(config: dict, assignment: str) -> None:
    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise RagtuneError(f"--set expects section.key=value, got {assignment!r}")
    node = config
    *parents, leaf = key.split(".")
    for p in parents:
        if node.get(p) is None:  # a section off by default (reranker: null) is switched on by setting it
            node[p] = {}
        node = node[p]
        if not isinstance(node, dict):
            raise RagtuneError(f"--set {assignment!r}: {p!r} is not a section")
    node[leaf] = _value(raw)


def _value(raw: str):
    """JSON for objects, lists and null (serve.retention_days=null, reranker=null); otherwise numbers, booleans,
    text."""
    if raw.strip() == "null":
        return None
    if raw.strip()[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as e:
            raise RagtuneError(f"--set value {raw!r} is not valid JSON: {e}") from None
    return parse_value(raw)


def _save(p, data: dict, assignments: list[str], json_: bool, verb: str) -> None:
    """Apply --set assignments to ``data``; write config.json only when the whole config validates and every
    component it names can be built."""
    for assignment in assignments:
        _set(data, assignment)
    p._config = checked_config(data)
    p.save()
    if json_:
        print_json(p.config.model_dump())
    else:
        out.print(f"{verb} {p.config_path}")


@app.command("init")
def init_cmd(
    project: ProjectOpt = DEFAULT_PROJECT,
    embedder: Annotated[str | None, typer.Option(help=field_help(ProjectConfig, "embedder"))] = None,
    chunker: Annotated[str | None, typer.Option(help=field_help(ProjectConfig, "chunker"))] = None,
    generator: Annotated[str | None, typer.Option(help=field_help(ProjectConfig, "generator"))] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override any setting: section.key=value, "
                                                   "e.g. retrieval.k=8 or embedder.params.batch_size=16")] = None,
    json_: JsonOpt = False,
):
    """Write a project's config.json (defaults: packaged int8 MiniLM, sentence chunks, SmolLM2)."""
    p = open_project(project)
    if p.config_path.exists():
        raise RagtuneError(f"{p.config_path} already exists; edit it, or choose another --project")
    data = ProjectConfig().model_dump()
    for section, name in (("embedder", embedder), ("chunker", chunker), ("generator", generator)):
        if name:
            data[section] = ComponentSpec(type=name).model_dump()
    _save(p, data, set_ or [], json_, "created")


@app.command("set")
def set_cmd(
    assignments: Annotated[list[str], typer.Argument(help="section.key=value ..., e.g. retrieval.k=8 or "
                                                           "'serve.variants={\"rag\": 0.9, \"ft+rag:ID\": 0.1}'")],
    project: ProjectOpt = DEFAULT_PROJECT,
    json_: JsonOpt = False,
):
    """Change settings of an existing project; the whole config is validated before anything is written
    (a running server picks the change up)."""
    p = open_project(project)
    if not p.config_path.exists():
        raise RagtuneError(f"no project at {p.root}; create it with 'ragtune project init'")
    _save(p, p.config.model_dump(), assignments, json_, "updated")


@app.command("show")
def show_cmd(project: ProjectOpt = DEFAULT_PROJECT, json_: JsonOpt = False):
    """Print the project's configuration and index size."""
    p = open_project(project)
    info = {"project": str(p.root), "config": p.config.model_dump(),
            "chunks": p.store.count() if p.index_spec() else 0}
    if json_:
        print_json(info)
    else:
        out.print_json(data=info)
