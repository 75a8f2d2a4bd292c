from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ragtune.app.jobs import Jobs, Launch, job_row
from ragtune.app.retriever import Mining, build_training_data, finish_reembed, start_jobs, use
from ragtune.app.variants import resolve
from ragtune.cli.common import (
    DEFAULT_PROJECT,
    JsonOpt,
    ProjectOpt,
    console,
    field_docs,
    open_project,
    out,
    print_json,
    progress_bars,
)
from ragtune.cli.options import BaseUrlOpt, ChunksOpt, GenerateQuestionsOpt, ModelOpt
from ragtune.finetune.retriever.config import KINDS, RetrieverTuneConfig
from ragtune.finetune.trainer import TuneConfig

app = typer.Typer(no_args_is_help=True,
                  help="Fine-tuning jobs (a LoRA generator, or the retriever): start, watch, cancel, resume.")
_DEFAULTS = TuneConfig()


_DOCS = field_docs(TuneConfig)
_R, _RDOCS = RetrieverTuneConfig(), field_docs(RetrieverTuneConfig)
_M, _MDOCS = Mining(), field_docs(Mining)


def _doc(name: str) -> str:
    return _DOCS.get(name, "")


@app.command("start")
def start_cmd(
    train: Annotated[Path, typer.Option(help="training chat JSONL")],
    val: Annotated[Path | None, typer.Option(help="validation chat JSONL")] = None,
    base: Annotated[str, typer.Option(help="smollm2-135m, qwen2.5-coder-0.5b, or a model folder")] = "smollm2-135m",
    epochs: Annotated[float, typer.Option(help=_doc("epochs"))] = _DEFAULTS.epochs,
    lr: Annotated[float, typer.Option(help=_doc("lr"))] = _DEFAULTS.lr,
    lora_r: Annotated[int, typer.Option(help=_doc("lora_r"))] = _DEFAULTS.lora_r,
    lora_alpha: Annotated[int, typer.Option(help=_doc("lora_alpha"))] = _DEFAULTS.lora_alpha,
    lora_dropout: Annotated[float, typer.Option(help=_doc("lora_dropout"))] = _DEFAULTS.lora_dropout,
    max_steps: Annotated[int, typer.Option(help=_doc("max_steps"))] = _DEFAULTS.max_steps,
    batch_size: Annotated[int, typer.Option(help=_doc("batch_size"))] = _DEFAULTS.batch_size,
    grad_accum: Annotated[int, typer.Option(help=_doc("grad_accum"))] = _DEFAULTS.grad_accum,
    max_seq_len: Annotated[int, typer.Option(help=_doc("max_seq_len"))] = _DEFAULTS.max_seq_len,
    seed: Annotated[int, typer.Option(help=_doc("seed"))] = _DEFAULTS.seed,
    save_steps: Annotated[int, typer.Option(help=_doc("save_steps"))] = _DEFAULTS.save_steps,
    merge: Annotated[bool, typer.Option(help=_doc("merge"))] = _DEFAULTS.merge,
    detach: Annotated[bool, typer.Option(help="run in the background and return at once")] = False,
    backend: Annotated[str, typer.Option(help="who trains it: local, or a hosted API (openai, together; --base is "
                                              "then the provider's model name)")] = "local",
    launcher: Annotated[str, typer.Option(help="local only: none, or accelerate (one process per GPU)")] = "none",
    num_processes: Annotated[int | None, typer.Option(help="with --launcher accelerate: processes "
                                                            "(default: one per GPU)")] = None,
    reuse: Annotated[bool, typer.Option(help="return a succeeded job on the same data (by hash), base, backend "
                                             "and settings instead of training again")] = False,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_: JsonOpt = False,
):
    """Validate the data, create a job, and train a LoRA adapter on the base model."""
    cfg = TuneConfig(epochs, lr, lora_r, lora_alpha, lora_dropout, max_steps, batch_size, grad_accum, max_seq_len,
                     seed, save_steps, merge)
    jobs = Jobs(project)
    job = jobs.start(train, val, base, cfg, backend, Launch(detach, launcher, num_processes), reuse)
    if json_:
        print_json(job_row(job))
        return
    if ignored := jobs.backend(job).ignored:
        console.print(f"{job.backend} sets its own {', '.join(ignored)}")
    out.print(jobs.backend(job).describe(job))


@app.command("retriever")
def retriever_cmd(
    queries: Annotated[Path | None, typer.Option(help="BEIR queries JSONL ({_id, text}); with --qrels, the "
                                                      "training queries (default: synthesised from the corpus)")] = None,
    qrels: Annotated[Path | None, typer.Option(help="BEIR qrels TSV (query-id, corpus-id, score) for --queries")] = None,
    kind: Annotated[str, typer.Option(help="embedder, reranker, or both (two jobs on the same pairs)")] = "both",
    generate_questions: GenerateQuestionsOpt = 0,
    chunks: ChunksOpt = 100,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    negatives: Annotated[int, typer.Option(help=_MDOCS["negatives"])] = _M.negatives,
    margin: Annotated[float | None, typer.Option(help=_MDOCS["margin"])] = _M.margin,
    depth: Annotated[int, typer.Option(help=_MDOCS["depth"])] = _M.depth,
    heldout: Annotated[float, typer.Option(help=_MDOCS["heldout"])] = _M.heldout,
    max_queries: Annotated[int, typer.Option(help=_MDOCS["max_queries"])] = _M.max_queries,
    corpus_queries: Annotated[str, typer.Option(help=_MDOCS["corpus_queries"].rstrip(".") + ", comma-separated")] = ",".join(
        _M.corpus_queries),
    epochs: Annotated[float, typer.Option(help=_RDOCS["epochs"])] = _R.epochs,
    lr: Annotated[float | None, typer.Option(help=_RDOCS["lr"])] = _R.lr,
    batch_size: Annotated[int, typer.Option(help=_RDOCS["batch_size"])] = _R.batch_size,
    mini_batch_size: Annotated[int, typer.Option(help=_RDOCS["mini_batch_size"])] = _R.mini_batch_size,
    max_steps: Annotated[int, typer.Option(help=_RDOCS["max_steps"])] = _R.max_steps,
    save_steps: Annotated[int, typer.Option(help=_RDOCS["save_steps"])] = _R.save_steps,
    seed: Annotated[int, typer.Option(help=_RDOCS["seed"])] = _R.seed,
    data: Annotated[Path | None, typer.Option(help="folder for the pairs and held-out queries "
                                                    "(default: retriever-data in the project)")] = None,
    detach: Annotated[bool, typer.Option(help="train in the background and return at once")] = False,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_: JsonOpt = False,
):
    """Tune the retriever on this project's corpus: pairs with hard negatives mined by its own retriever,
    split by query, then a bi-encoder and/or a cross-encoder re-ranker trained from the packaged MiniLM."""
    kinds = KINDS if kind == "both" else (kind,)
    cfg = RetrieverTuneConfig(kind=kinds[0], epochs=epochs, lr=lr, batch_size=batch_size,
                              mini_batch_size=mini_batch_size, max_steps=max_steps, seed=seed, save_steps=save_steps)
    p = open_project(project)
    generator = resolve(p, "base", model=model, base_url=base_url).generator if generate_questions > 0 else None
    mining = Mining(negatives, margin, depth, heldout, max_queries, seed,
                    tuple(k.strip() for k in corpus_queries.split(",") if k.strip()))
    with progress_bars(not json_) as progress:
        pairs = build_training_data(p, data or p.root / "retriever-data", queries, qrels, generate_questions, chunks,
                                    generator, mining, progress=progress)
    if not json_:
        console.print(f"{pairs.train_queries} training and {pairs.heldout_queries} held-out queries "
                      f"({', '.join(f'{n} {s}' for s, n in sorted(pairs.sources.items()))} training pairs)")
    jobs = start_jobs(p.root, pairs, kinds, cfg, Launch(detach))
    if json_:
        print_json({"data": {k: str(v) if isinstance(v, Path) else v for k, v in vars(pairs).items()},
                    "jobs": [job_row(j) for j in jobs]})
        return
    for job in jobs:
        out.print(Jobs(project).backend(job).describe(job))


@app.command("use")
def use_cmd(job_id: str, project: ProjectOpt = DEFAULT_PROJECT,
            into: Annotated[Path | None, typer.Option(help="write a new project with the tuned embedder instead "
                                                          "(no index yet: ingest there)")] = None,
            detach: Annotated[bool, typer.Option(help="an embedder over an existing index: re-embed it in the "
                                                      "background and return at once")] = False):
    """Make a finished retriever job's embedder or re-ranker the project's. A new embedder re-embeds the
    index beside the current one, which answers until the new one is complete and verified."""
    with progress_bars(True) as progress:
        message = use(open_project(project), job_id, into, detach, progress=progress)
    out.print(message)


@app.command("reembed")
def reembed_cmd(project: ProjectOpt = DEFAULT_PROJECT):
    """Carry out or resume the pending switch of embedder ('tune use' starts it): what --detach runs, and
    what finishes one that was interrupted."""
    with progress_bars(True) as progress:
        message = finish_reembed(open_project(project), progress=progress)
    out.print(message)


@app.command("run", hidden=True)
def run_cmd(job_id: str, project: ProjectOpt = DEFAULT_PROJECT):
    """Run a created job in this process (what --detach starts)."""
    Jobs(project).run_here(job_id)


@app.command("list")
def list_cmd(project: ProjectOpt = DEFAULT_PROJECT, json_: JsonOpt = False):
    """All jobs of this project."""
    jobs = Jobs(project).list()
    if json_:
        print_json([job_row(j) for j in jobs])
        return
    t = Table("id", "backend", "base", "status", "created", title="fine-tuning jobs")
    for j in jobs:
        t.add_row(j.id, j.backend, j.base, j.shown_status, time.strftime("%Y-%m-%d %H:%M", time.localtime(j.created)))
    out.print(t)


@app.command("status")
def status_cmd(job_id: str, project: ProjectOpt = DEFAULT_PROJECT, json_: JsonOpt = False):
    """One job: status, config, latest losses, error (a hosted job: asked of its provider, with its events)."""
    job, progress = Jobs(project).status(job_id)
    row = {**job_row(job), **progress}
    if json_:
        print_json(row)
    else:
        out.print_json(data=row)


@app.command("eval")
def eval_cmd(job_id: str, project: ProjectOpt = DEFAULT_PROJECT,
             data: Annotated[Path | None, typer.Option(help="held-out chat JSONL (default: the job's --val file)")] = None,
             limit: Annotated[int | None, typer.Option(help="only the first N examples")] = None,
             max_tokens: Annotated[int, typer.Option(help="most tokens generated per answer")] = 160,
             general_limit: Annotated[int | None, typer.Option(help="only the first N general-knowledge "
                                                                     "questions")] = None,
             json_: JsonOpt = False):
    """Tuned vs base: loss, perplexity, EM / F1, format adherence, and general-knowledge forgetting."""
    with progress_bars(not json_) as progress:
        result = Jobs(project).evaluate(job_id, data, limit, max_tokens, general_limit,
                                        progress=lambda n: progress("generations", n))
    if json_:
        print_json(result)
        return
    t = Table("metric", "base", "tuned", title=f"job {job_id.removeprefix('ft:')} on {Path(result['data']).name} "
                                               f"({result['examples']} examples)")
    b, tu = result["models"]["base"], result["models"]["tuned"]
    for key in ("loss", "perplexity", "exact_match", "f1", "format_adherence"):
        if b[key] is not None:
            t.add_row(key, f"{b[key]:.3f}", f"{tu[key]:.3f}")
    t.add_row("general knowledge", f"{b['general_knowledge']['accuracy']:.3f}",
              f"{tu['general_knowledge']['accuracy']:.3f}")
    out.print(t)
    out.print(f"forgetting: {result['forgetting']:+.3f} general-knowledge accuracy lost; saved with the job")


@app.command("logs")
def logs_cmd(job_id: str, project: ProjectOpt = DEFAULT_PROJECT,
             follow: Annotated[bool, typer.Option(help="keep printing until the job ends")] = False,
             json_: JsonOpt = False):
    """Per-step training and validation loss (with --json: a list, or JSON lines with --follow)."""
    jobs = Jobs(project)
    if json_ and not follow:
        print_json(jobs.steps(job_id))
        return
    for s in jobs.follow(job_id) if follow else jobs.steps(job_id):
        if json_:  # one object a line while following
            sys.stdout.write(json.dumps(s) + "\n")
            sys.stdout.flush()
        else:
            out.print(f"step {s['step']:>5}  loss {s['loss'] if s['loss'] is not None else '-':<10}  "
                      f"eval_loss {s['eval_loss'] if s['eval_loss'] is not None else '-'}")


@app.command("cancel")
def cancel_cmd(job_id: str, project: ProjectOpt = DEFAULT_PROJECT):
    """Ask a running job to stop after its current step (a queued one is cancelled at once)."""
    job = Jobs(project).cancel(job_id)
    out.print(f"job {job.id}: cancel requested" if job.cancel_requested else
              f"job {job.id}: {job.status} on {job.backend}")


@app.command("resume")
def resume_cmd(job_id: str, project: ProjectOpt = DEFAULT_PROJECT,
               detach: Annotated[bool, typer.Option(help="run in the background")] = False):
    """Continue an interrupted, failed or cancelled job from its last checkpoint."""
    job = Jobs(project).resume(job_id, Launch(detach))
    if not detach:
        out.print(f"job {job.id} {job.status}")


@app.command("export")
def export_cmd(job_id: str, project: ProjectOpt = DEFAULT_PROJECT,
               *, axolotl: Annotated[Path, typer.Option(help="write the job as an Axolotl config (YAML)")]):
    """The job's base model, LoRA and training settings and data as another trainer's config."""
    out.print(f"wrote {Jobs(project).export_axolotl(job_id, axolotl)}: axolotl train {axolotl}")
