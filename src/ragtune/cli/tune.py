from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ragtune.cli.common import DEFAULT_PROJECT, JsonOpt, ProjectOpt, console, out, print_json, progress_bars
from ragtune.errors import RagtuneError
from ragtune.finetune.chat_tokens import chat_counter
from ragtune.finetune.jobs import JobStore
from ragtune.finetune.trainer import TuneConfig, job_dir, run
from ragtune.finetune.validate import validate

app = typer.Typer(no_args_is_help=True, help="LoRA fine-tuning jobs: start, watch, cancel, resume.")
_DEFAULTS = TuneConfig()


def _field_docs(cls: type) -> dict[str, str]:
    """Each dataclass field's docstring (the string under it), parsed once: the help text is written
    only in trainer.TuneConfig."""
    import ast
    import inspect

    body = ast.parse(inspect.getsource(cls)).body[0].body
    return {node.target.id: nxt.value.value for node, nxt in zip(body, body[1:])
            if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr)}


_DOCS = _field_docs(TuneConfig)


def _doc(name: str) -> str:
    return _DOCS.get(name, "")


def store_for(project: Path) -> JobStore:
    return JobStore(Path(project) / "jobs.db")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _job_row(job) -> dict:
    return {"id": job.id, "model": job.model_name, "base": job.base, "status": job.shown_status,
            "train_file": job.train_file, "val_file": job.val_file, "config": job.config,
            "created": job.created, "started": job.started, "finished": job.finished, "error": job.error}


def _launch(project: Path, job_id: str, detach: bool) -> None:
    if detach:
        log = job_dir(project, job_id) / "train.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen([sys.executable, "-m", "ragtune.cli.app", "tune", "run", job_id, "-p", str(project)],
                                stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
        store_for(project).update(job_id, pid=proc.pid)
        console.print(f"job {job_id} running in the background (pid {proc.pid}); 'ragtune tune logs {job_id} --follow'")
        return
    run(project, store_for(project), job_id)


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
    project: ProjectOpt = DEFAULT_PROJECT,
    json_: JsonOpt = False,
):
    """Validate the data, create a job, and train a LoRA adapter on the base model."""
    report = validate(train, chat_counter(base), val, max_seq_len)
    if not report.ok:
        raise RagtuneError("the data has errors, nothing was started:\n" +
                           "\n".join(str(f) for f in report.findings if f.severity == "error"))
    cfg = TuneConfig(epochs, lr, lora_r, lora_alpha, lora_dropout, max_steps, batch_size, grad_accum, max_seq_len,
                     seed, save_steps, merge)
    job = store_for(project).create(base, str(train.resolve()), _sha256(train), str(val.resolve()) if val else None,
                                    _sha256(val) if val else None, dataclasses.asdict(cfg))
    if json_ and detach:
        print_json(_job_row(job))
    _launch(project, job.id, detach)
    if not detach:
        job = store_for(project).get(job.id)
        if json_:
            print_json(_job_row(job))
        else:
            out.print(f"job {job.id} {job.status}: use it as --model {job.model_name}")


@app.command("run", hidden=True)
def run_cmd(job_id: str, project: ProjectOpt = DEFAULT_PROJECT):
    """Run a created job in this process (what --detach starts)."""
    run(project, store_for(project), job_id)


@app.command("list")
def list_cmd(project: ProjectOpt = DEFAULT_PROJECT, json_: JsonOpt = False):
    """All jobs of this project."""
    jobs = store_for(project).list()
    if json_:
        print_json([_job_row(j) for j in jobs])
        return
    t = Table("id", "base", "status", "created", title="fine-tuning jobs")
    for j in jobs:
        t.add_row(j.id, j.base, j.shown_status, time.strftime("%Y-%m-%d %H:%M", time.localtime(j.created)))
    out.print(t)


@app.command("status")
def status_cmd(job_id: str, project: ProjectOpt = DEFAULT_PROJECT, json_: JsonOpt = False):
    """One job: status, config, latest losses, error."""
    store = store_for(project)
    job = store.get(job_id)
    steps = store.steps(job.id)
    row = {**_job_row(job), "steps": len(steps),
           "last_loss": next((s["loss"] for s in reversed(steps) if s["loss"] is not None), None),
           "last_eval_loss": next((s["eval_loss"] for s in reversed(steps) if s["eval_loss"] is not None), None),
           "checkpoints": sorted(p.name for p in (job_dir(project, job.id) / "checkpoints").glob("checkpoint-*"))}
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
    from ragtune.finetune.evaluate import evaluate_job

    store = store_for(project)
    job = store.get(job_id)
    data = data or (Path(job.val_file) if job.val_file else None)
    if data is None:
        raise RagtuneError(f"job {job.id} has no validation file; pass --data VAL.jsonl")
    adapter = job_dir(project, job.id) / "adapter"
    if job.status != "succeeded" or not adapter.is_dir():
        raise RagtuneError(f"job {job.id} is {job.shown_status}; only a succeeded job can be evaluated")
    with progress_bars(not json_) as progress:
        result = evaluate_job(job.base, adapter, data, limit, max_tokens, general_limit,
                              progress=lambda n: progress("generations", n))
    (job_dir(project, job.id) / "eval.json").write_text(json.dumps(result, indent=2))
    if json_:
        print_json(result)
        return
    t = Table("metric", "base", "tuned", title=f"job {job.id} on {data.name} ({result['examples']} examples)")
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
    store = store_for(project)
    if json_ and not follow:
        print_json(store.steps(store.get(job_id).id))
        return
    shown = 0
    while True:
        steps = store.steps(store.get(job_id).id)
        for s in steps[shown:]:
            if json_:  # one object a line while following
                sys.stdout.write(json.dumps(s) + "\n")
                sys.stdout.flush()
            else:
                out.print(f"step {s['step']:>5}  loss {s['loss'] if s['loss'] is not None else '-':<10}  "
                          f"eval_loss {s['eval_loss'] if s['eval_loss'] is not None else '-'}")
        shown = len(steps)
        if not follow or store.get(job_id).status not in ("queued", "running"):
            return
        time.sleep(2)


@app.command("cancel")
def cancel_cmd(job_id: str, project: ProjectOpt = DEFAULT_PROJECT):
    """Ask a running job to stop after its current step (a queued one is cancelled at once)."""
    store = store_for(project)
    job = store.get(job_id)
    if job.status not in ("queued", "running"):
        raise RagtuneError(f"job {job.id} is {job.status}; only queued or running jobs can be cancelled")
    if job.status == "queued":
        store.update(job.id, status="cancelled", finished=time.time())
    else:
        store.update(job.id, cancel_requested=1)
    out.print(f"job {job.id}: cancel requested")


@app.command("resume")
def resume_cmd(job_id: str, project: ProjectOpt = DEFAULT_PROJECT,
               detach: Annotated[bool, typer.Option(help="run in the background")] = False):
    """Continue an interrupted, failed or cancelled job from its last checkpoint."""
    store = store_for(project)
    job = store.get(job_id)
    if job.status == "succeeded":
        raise RagtuneError(f"job {job.id} already succeeded")
    for path, sha in ((job.train_file, job.train_sha256), (job.val_file, job.val_sha256)):
        if path and (not Path(path).is_file() or _sha256(Path(path)) != sha):
            raise RagtuneError(f"{path} changed or vanished since job {job.id} started; start a new job")
    _launch(project, job.id, detach)
    if not detach:
        out.print(f"job {job.id} {store.get(job.id).status}")
