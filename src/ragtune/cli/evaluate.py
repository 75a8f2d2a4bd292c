from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ragtune.app.retriever import compare
from ragtune.app.variants import resolve
from ragtune.cli.common import DEFAULT_PROJECT, JsonOpt, ProjectOpt, console, open_project, out, print_json, progress_bars, styled
from ragtune.cli.options import BaseUrlOpt, ModelOpt, require_index
from ragtune.config import RetrievalConfig, field_help
from ragtune.errors import RagtuneError
from ragtune.evaluation.datasets import read_jsonl, read_qrels
from ragtune.evaluation.qa import evaluate_qa, read_questions
from ragtune.evaluation.retrieval import evaluate_retrieval
from ragtune.rag.checkers import checker

app = typer.Typer(no_args_is_help=True, help="Measure retrieval and answer quality.")
ModeOpt = Annotated[str | None, typer.Option(help=field_help(RetrievalConfig, "mode"))]


def _table(title: str, metrics: dict) -> Table:
    t = Table("metric", "value", title=title)
    for key, value in metrics.items():
        if isinstance(value, float):
            t.add_row(key, f"{value:.4f}")
        elif not isinstance(value, (dict, list)):
            t.add_row(key, str(value))
    return t


@app.command("retrieval")
def retrieval_cmd(
    queries: Annotated[Path | None, typer.Option(help="BEIR queries JSONL ({_id, text})")] = None,
    qrels: Annotated[Path | None, typer.Option(help="BEIR qrels TSV (query-id, corpus-id, score)")] = None,
    job: Annotated[str | None, typer.Option(help="a retriever job (ragtune tune retriever): base against tuned, "
                                                 "by default on the job's held-out queries")] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    mode: ModeOpt = None,
    k: Annotated[int, typer.Option("--k", "-k", help="cut-off for nDCG, recall and MRR")] = 10,
    per_query: Annotated[Path | None, typer.Option(help="write per-query metrics to this JSON file")] = None,
    json_: JsonOpt = False,
):
    """nDCG@k, recall@k, recall@100 and MRR@k on BEIR-format data against this project's index; with --job,
    the project's retriever against it with the job's tuned embedder or re-ranker."""
    p = open_project(project)
    require_index(p)
    if job is not None:
        with progress_bars(not json_) as progress:
            compared = compare(p, job, queries, qrels, mode, k, progress=lambda stage, n: progress(stage, n))
        if json_:
            print_json(compared)
            return
        t = Table("metric", "base", f"tuned ({compared['kind']})", "difference",
                  title=f"job {compared['job']} on {compared['base']['queries']} queries ({compared['mode']})")
        for metric, diff in compared["difference"].items():
            t.add_row(metric, f"{compared['base'][metric]:.4f}", f"{compared['tuned'][metric]:.4f}", f"{diff:+.4f}")
        out.print(t)
        return
    if queries is None or qrels is None:
        raise RagtuneError("give --queries and --qrels, or --job JOB (its held-out queries)")
    rows = read_jsonl(queries, ("_id", "text"), unique="_id")
    judged = read_qrels(qrels)
    with progress_bars(not json_) as progress:
        result = evaluate_retrieval(p.retriever, {str(r["_id"]): r["text"] for r in rows}, judged,
                                    mode=mode or p.config.retrieval.mode, k=k,
                                    progress=lambda n: progress("queries", n))
    details = result.pop("per_query")
    for warning in result["warnings"]:
        console.print(styled("warning:", "yellow", warning))
    if per_query:
        per_query.write_text(json.dumps(details, indent=1))
    if json_:
        print_json(result)
    else:
        out.print(_table("retrieval", result))


@app.command("qa")
def qa_cmd(
    questions: Annotated[Path, typer.Option(help="JSONL of {_id, question, answer}; an empty answer marks "
                                                 "a question the documents cannot answer")],
    project: ProjectOpt = DEFAULT_PROJECT,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    mode: ModeOpt = None,
    limit: Annotated[int | None, typer.Option(help="only the first N questions")] = None,
    results: Annotated[Path, typer.Option(help="per-question results (JSONL)")] = Path("qa_results.jsonl"),
    json_: JsonOpt = False,
):
    """Answer each question through the pipeline: SQuAD exact match and F1, refusals, latency."""
    p = open_project(project)
    require_index(p)
    qs = read_questions(read_jsonl(questions, ("question",))[:limit])
    v = resolve(p, "rag", model=model, base_url=base_url)
    with progress_bars(not json_) as progress:
        scores, _ = evaluate_qa(qs, p.retriever, p.generator(v.generator), p.config.answer,
                                mode or p.config.retrieval.mode, out=results,
                                progress=lambda n: progress("questions", n, total=len(qs)), how=v,
                                checker=checker(p.config.checker))
    summary = {**scores.model_dump(), "results": str(results)}
    if json_:
        print_json(summary)
    else:
        out.print(_table("question answering", summary))
