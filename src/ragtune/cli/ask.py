from __future__ import annotations

from typing import Annotated

import typer

from ragtune.cli.common import DEFAULT_PROJECT, JsonOpt, ProjectOpt, generator_spec, open_project, out, print_json, system_prompt
from ragtune.cli.search import FilterOpt, require_index
from ragtune.config import RetrievalConfig, field_help
from ragtune.rag.answer import Answer, answer
from ragtune.stores.filters import parse_filters

ModelOpt = Annotated[str | None, typer.Option(
    "--model", "-m", help="smollm2-135m (default), qwen2.5-coder-0.5b, a GGUF path, or with --base-url "
                          "the endpoint's model name")]
BaseUrlOpt = Annotated[str | None, typer.Option(
    "--base-url", envvar="RAGTUNE_BASE_URL", help="OpenAI-compatible endpoint (key from OPENAI_API_KEY)")]


def print_answer(a: Answer) -> None:
    style = "yellow" if a.refused else "green"
    out.print(f"[bold]Q:[/] {a.question}", highlight=False)
    out.print(f"[bold {style}]A:[/] {a.text}", highlight=False)
    if a.refused and a.reason:
        out.print(f"   [dim]({a.reason})[/]")
    for c in a.citations:
        note = " (inferred from overlap)" if c.inferred else ""
        out.print(f"   [{c.n}] {c.doc_id} · chunk {c.chunk_index} · {c.title}{note}", highlight=False)


def ask_cmd(
    question: Annotated[str, typer.Argument(help="the question")],
    project: ProjectOpt = DEFAULT_PROJECT,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    mode: Annotated[str | None, typer.Option(help=field_help(RetrievalConfig, "mode"))] = None,
    filter_: FilterOpt = None,
    json_: JsonOpt = False,
):
    """Answer QUESTION from the indexed documents, citing them; refuse when they do not hold the answer."""
    p = open_project(project)
    require_index(p)
    gen = p.generator(generator_spec(p, model, base_url))
    a = answer(question, p.retriever, gen, p.config.answer, mode=mode or p.config.retrieval.mode,
               where=parse_filters(filter_), system=system_prompt(p, model))
    if json_:
        print_json(a.to_dict())
    else:
        print_answer(a)
