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
from ragtune.errors import RagtuneError
from ragtune.finetune.backends import TUNE_BACKENDS
from ragtune.finetune.chat_tokens import chat_counter
from ragtune.finetune.jobs import JobStore
from ragtune.finetune.trainer import TuneConfig, job_dir, run
from ragtune.finetune.validate import validate

app = typer.Typer(no_args_is_help=True, help="LoRA fine-tuning jobs: start, watch, cancel, resume.")
_DEFAULTS = TuneConfig()


_DOCS = field_docs(TuneConfig)


def _doc(name: str) -> str:
    return _DOCS.get(name, "")


def store_for(project: Path) -> JobStore:
    return JobStore(Path(project) / "jobs.db")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _job_row(job) -> dict:
    return {"id": job.id, "model": job.model_name, "base": job.base, "status": job.shown_status,
            "train_file": job.train_file, "val_file": job.val_file, "config": job.config,
            "created": job.created, "started": job.started, "finished": job.finished, "error": job.error,
            "backend": job.backend, "provider_job_id": job.provider_job_id, "provider_model": job.provider_model}


def _hosted(job):
    """The hosted backend a job runs on, or None for a local job."""
    return None if job.backend == "local" else TUNE_BACKENDS.create(job.backend)


def _local_only(job, action: str) -> None:
    if job.backend != "local":
        raise RagtuneError(f"job {job.id} trains on {job.backend}; only a local job can be {action} "
                           f"('ragtune tune status {job.id}' shows the provider's view of it)")


def create_job(project: Path, train: Path, val: Path | None, base: str, cfg: TuneConfig, backend: str = "local"):
    """A queued job, once its data passed validation; nothing is created when it has errors."""
    # a provider's tokenizer is not here: words stand in for tokens in the length check (it re-checks)
    report = validate(train, chat_counter(base if backend == "local" else "words"), val, cfg.max_seq_len)
    if not report.ok:
        raise RagtuneError("the data has errors, nothing was started:\n" +
                           "\n".join(str(f) for f in report.findings if f.severity == "error"))
    return store_for(project).create(base, str(train.resolve()), sha256_file(train),
                                     str(val.resolve()) if val else None, sha256_file(val) if val else None,
                                     dataclasses.asdict(cfg), backend)


def _launch(project: Path, job_id: str, detach: bool, launcher: str = "none", num_processes: int | None = None) -> None:
    command = [sys.executable, "-m", "ragtune.cli.app", "tune", "run", job_id, "-p", str(project)]
    if launcher == "accelerate":
        from ragtune.finetune.launchers import accelerate_command, write_accelerate_config

        config = write_accelerate_config(job_dir(project, job_id) / "accelerate.yaml", num_processes)
        command = accelerate_command(config, project, job_id)
        if not detach:
            # its stdout joins stderr (fd 2): stdout belongs to --json
            if subprocess.run(command, stdout=2).returncode != 0:
                raise RagtuneError(f"accelerate launch of job {job_id} failed; see 'ragtune tune status {job_id}'")
            return
    elif launcher != "none":
        raise RagtuneError(f"unknown launcher {launcher!r}; known: none, accelerate")
    if detach:
        log = job_dir(project, job_id) / "train.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
        store_for(project).update(job_id, pid=proc.pid)
        console.print(f"job {job_id} running in the background (pid {proc.pid}); 'ragtune tune logs {job_id} --follow'")
        return
    store = store_for(project)
    TUNE_BACKENDS.create("local").submit(project, store, store.get(job_id))


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
    project: ProjectOpt = DEFAULT_PROJECT,
    json_: JsonOpt = False,
):
    """Validate the data, create a job, and train a LoRA adapter on the base model."""
    cfg = TuneConfig(epochs, lr, lora_r, lora_alpha, lora_dropout, max_steps, batch_size, grad_accum, max_seq_len,
                     seed, save_steps, merge)
    if backend != "local":
        hosted = TUNE_BACKENDS.create(backend)
        hosted.check(cfg)
        job = create_job(project, train, val, base, cfg, backend)
        hosted.submit(project, store_for(project), job)
        job = store_for(project).get(job.id)
        if json_:
            print_json(_job_row(job))
        else:
            console.print(f"{backend} sets its own {', '.join(hosted.ignored)}")
            out.print(f"job {job.id} {job.status} on {backend} as {job.provider_job_id}; "
                      f"'ragtune tune status {job.id}' follows it, then use it as --model {job.model_name}")
        return
    job = create_job(project, train, val, base, cfg)
    if json_ and detach:
        print_json(_job_row(job))
    _launch(project, job.id, detach, launcher, num_processes)
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
    t = Table("id", "backend", "base", "status", "created", title="fine-tuning jobs")
    for j in jobs:
        t.add_row(j.id, j.backend, j.base, j.shown_status, time.strftime("%Y-%m-%d %H:%M", time.localtime(j.created)))
    out.print(t)


@app.command("status")
def status_cmd(job_id: str, project: ProjectOpt = DEFAULT_PROJECT, json_: JsonOpt = False):
    """One job: status, config, latest losses, error (a hosted job: asked of its provider, with its events)."""
    store = store_for(project)
    job = store.get(job_id)
    hosted = _hosted(job)
    if hosted:
        job = hosted.refresh(store, job)
        row = {**_job_row(job), "events": hosted.events(job)}
    else:
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
    from ragtune.app.variants import resolve, untuned
    from ragtune.finetune.evaluate import evaluate_job

    store = store_for(project)
    job = store.get(job_id)
    _local_only(job, "evaluated here")
    data = data or (Path(job.val_file) if job.val_file else None)
    if data is None:
        raise RagtuneError(f"job {job.id} has no validation file; pass --data VAL.jsonl")
    adapter = job_dir(project, job.id) / "adapter"
    if job.status != "succeeded" or not adapter.is_dir():
        raise RagtuneError(f"job {job.id} is {job.shown_status}; only a succeeded job can be evaluated")
    p = open_project(project)
    tuned = resolve(p, f"ft:{job.id}")  # asked as `ask --model ft:<id>` and the server ask it
    answerers = {"base": p.generator(untuned(tuned).generator), "tuned": p.generator(tuned.generator)}
    with progress_bars(not json_) as progress:
        result = evaluate_job(job.base, adapter, data, limit, max_tokens, general_limit,
                              progress=lambda n: progress("generations", n), answerers=answerers, asked=tuned)
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
    _local_only(store.get(job_id), "followed step by step")
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
    hosted = _hosted(job)
    if hosted:
        out.print(f"job {job.id}: {hosted.cancel(store, job).status} on {job.backend}")
        return
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
    _local_only(job, "resumed")
    if job.status == "succeeded":
        raise RagtuneError(f"job {job.id} already succeeded")
    for path, sha in ((job.train_file, job.train_sha256), (job.val_file, job.val_sha256)):
        if path and (not Path(path).is_file() or sha256_file(Path(path)) != sha):
            raise RagtuneError(f"{path} changed or vanished since job {job.id} started; start a new job")
    _launch(project, job.id, detach)
    if not detach:
        out.print(f"job {job.id} {store.get(job.id).status}")


@app.command("export")
def export_cmd(job_id: str, project: ProjectOpt = DEFAULT_PROJECT,
               *, axolotl: Annotated[Path, typer.Option(help="write the job as an Axolotl config (YAML)")]):
    """The job's base model, LoRA and training settings and data as another trainer's config."""
    from ragtune.finetune.axolotl import write_axolotl_config

    job = store_for(project).get(job_id)
    out.print(f"wrote {write_axolotl_config(job, axolotl)}: axolotl train {axolotl}")
