from __future__ import annotations

from typing import Annotated

import typer

from ragtune.app.variants import resolve
from ragtune.cli.common import DEFAULT_PROJECT, JsonOpt, ProjectOpt, open_project, print_json
from ragtune.cli.options import BaseUrlOpt, ExamplesOpt, FilterOpt, ModelOpt, print_answer, require_index
from ragtune.config import RetrievalConfig, field_help
from ragtune.rag.answer import answer
from ragtune.rag.checkers import checker
from ragtune.stores.filters import parse_filters


def ask_cmd(
    question: Annotated[str, typer.Argument(help="the question")],
    project: ProjectOpt = DEFAULT_PROJECT,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    mode: Annotated[str | None, typer.Option(help=field_help(RetrievalConfig, "mode"))] = None,
    filter_: FilterOpt = None,
    examples: ExamplesOpt = None,
    json_: JsonOpt = False,
):
    """Answer QUESTION from the indexed documents, citing them; refuse when they do not hold the answer."""
    p = open_project(project)
    require_index(p)
    v = resolve(p, "rag", model=model, base_url=base_url, examples=examples)
    a = answer(question, p.retriever, p.generator(v.generator), p.config.answer,
               mode=mode or p.config.retrieval.mode, where=parse_filters(filter_), system=v.system, shots=v.shots,
               checker=checker(p.config.checker), ends_at_citation=v.ends_at_citation,
               context_words=v.context_words)
    if json_:
        print_json(a.to_dict())
    else:
        print_answer(a)
