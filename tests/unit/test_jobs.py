"""The jobs service (app/jobs.py): every command reaches a job's backend through the TuneBackend protocol
alone, so a backend registered by a plugin works through the CLI and ft:<id> without a line changed; and
the service's own rules (data hashes, reuse, no file for a project without jobs)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from ragtune.app.jobs import Jobs
from ragtune.cli.app import app
from ragtune.component import Component
from ragtune.config import ComponentSpec
from ragtune.errors import RagtuneError
from ragtune.finetune.backends import TUNE_BACKENDS, Launch
from ragtune.finetune.jobs import Job, JobStore
from ragtune.finetune.registry import tuned_model_spec
from ragtune.finetune.trainer import TuneConfig
from ragtune.generation import GENERATORS
from ragtune.project import Project

runner = CliRunner()


@dataclass
class RecordingBackend(Component):
    """A provider that 'trains' by recording what it was asked; no real service behind it."""

    ignored: ClassVar[tuple[str, ...]] = ("merge",)
    trains_here: ClassVar[bool] = False
    calls: ClassVar[list[str]] = []

    def check(self, cfg: TuneConfig) -> None:
        if cfg.lr > 0.1:
            raise RagtuneError("the recording backend refuses lr above 0.1")

    def length_tokenizer(self, base: str) -> str:
        return "words"

    def submit(self, project_root: Path, store: JobStore, job: Job, launch: Launch = Launch()) -> None:
        self.calls.append("submit")
        store.update(job.id, status="running", provider_job_id=f"rec-{job.id}", started=time.time())

    def run_here(self, project_root: Path, store: JobStore, job: Job) -> None:
        self.calls.append("run_here")

    def refresh(self, store: JobStore, job: Job) -> Job:
        self.calls.append("refresh")
        return store.get(job.id)

    def cancel(self, store: JobStore, job: Job) -> Job:
        self.calls.append("cancel")
        store.update(job.id, status="cancelled", finished=time.time())
        return store.get(job.id)

    def resume(self, project_root: Path, store: JobStore, job: Job, launch: Launch = Launch()) -> None:
        self.calls.append("resume")
        store.update(job.id, status="running")

    def progress(self, project_root: Path, store: JobStore, job: Job) -> dict[str, Any]:
        return {"recorded": list(self.calls)}

    def steps(self, store: JobStore, job: Job) -> list[dict[str, Any]]:
        return [{"step": 1, "loss": 0.5, "eval_loss": None}]

    def adapter(self, project_root: Path, job: Job) -> Path:
        raise RagtuneError(f"job {job.id} has no adapter here")

    def generator_spec(self, project_root: Path, store: JobStore, job: Job) -> ComponentSpec:
        return ComponentSpec(type="scripted", params={"script": [f"tuned by {job.provider_job_id}"]})

    def describe(self, job: Job) -> str:
        return f"job {job.id} {job.status} on the recording backend"


@pytest.fixture
def recording(monkeypatch):
    monkeypatch.setitem(TUNE_BACKENDS._classes, "recording", RecordingBackend)
    monkeypatch.setattr(RecordingBackend, "calls", [])
    return RecordingBackend


def chat_file(path: Path, n: int = 10, first: int = 0) -> Path:
    rows = [{"messages": [{"role": "user", "content": f"What is {i} plus {i}?"},
                          {"role": "assistant", "content": f"ANSWER: {2 * i}"}]} for i in range(first, first + n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def tune(project: Path, *args: str):
    return runner.invoke(app, ["tune", *args, "-p", str(project)])


def test_a_plugin_backend_serves_every_command_through_the_protocol(tmp_path, recording):
    p = tmp_path / "p"
    r = tune(p, "start", "--backend", "recording", "--base", "any-model", "--train", str(chat_file(tmp_path / "t.jsonl")),
             "--lr", "0.01", "--json")
    assert r.exit_code == 0, r.output
    job = json.loads(r.stdout)
    assert (job["backend"], job["status"], job["provider_job_id"]) == ("recording", "running", f"rec-{job['id']}")

    status = json.loads(tune(p, "status", job["id"], "--json").stdout)
    assert status["recorded"] == ["submit", "refresh"]  # the backend's own view, added to the row
    assert json.loads(tune(p, "logs", job["id"], "--json").stdout) == [{"step": 1, "loss": 0.5, "eval_loss": None}]
    spec = tuned_model_spec(Project(p), job["model"])
    assert GENERATORS.from_dict(spec.model_dump()).generate([]).text == f"tuned by rec-{job['id']}"
    r = tune(p, "eval", job["id"])
    assert r.exit_code != 0 and str(r.exception) == f"job {job['id']} has no adapter here"

    r = runner.invoke(app, ["tune", "export", job["id"], "--axolotl", str(tmp_path / "a.yaml"), "-p", str(p)])
    assert r.exit_code != 0 and "only a local job has an Axolotl equivalent" in str(r.exception)

    r = tune(p, "cancel", job["id"])
    assert r.exit_code == 0 and f"job {job['id']}: cancelled on recording" in r.stdout
    assert tune(p, "resume", job["id"]).exit_code == 0
    assert recording.calls[-2:] == ["cancel", "resume"]
    assert Jobs(p).get(job["id"]).status == "running"


def test_settings_the_backend_refuses_leave_no_job(tmp_path, recording):
    r = tune(tmp_path / "p", "start", "--backend", "recording", "--base", "m", "--train",
             str(chat_file(tmp_path / "t.jsonl")), "--lr", "0.5")
    assert r.exit_code != 0 and str(r.exception) == "the recording backend refuses lr above 0.1"
    assert Jobs(tmp_path / "p").list() == [] and recording.calls == []


def test_listing_a_project_without_jobs_creates_no_job_store(tmp_path):
    assert Jobs(tmp_path).list() == []
    assert not (tmp_path / "jobs.db").exists()


def test_start_with_reuse_returns_a_finished_job_on_the_same_data_base_and_settings(tmp_path, recording):
    jobs = Jobs(tmp_path)
    train = chat_file(tmp_path / "t.jsonl")
    cfg = TuneConfig(epochs=1, lr=0.01)
    done = jobs.create(train, None, "words", cfg, "recording")
    fresh = jobs.start(train, None, "words", cfg, "recording", reuse=True)
    assert fresh.id != done.id  # the first one is only queued
    jobs.store.update(done.id, status="succeeded")
    jobs.store.update(fresh.id, status="failed")
    assert jobs.start(train, None, "words", cfg, "recording", reuse=True).id == done.id
    assert recording.calls == ["submit"]  # reusing submits nothing
    other = [jobs.start(train, None, "words", TuneConfig(epochs=2, lr=0.01), "recording", reuse=True),
             jobs.start(train, None, "other-base", cfg, "recording", reuse=True),
             jobs.start(chat_file(tmp_path / "t2.jsonl", 11), None, "words", cfg, "recording", reuse=True)]
    assert done.id not in {j.id for j in other} and len({j.id for j in other}) == 3


def test_resume_refuses_data_that_changed_since_the_job_started(tmp_path):
    jobs = Jobs(tmp_path)
    train = chat_file(tmp_path / "t.jsonl")
    job = jobs.create(train, None, "words", TuneConfig())
    jobs.store.update(job.id, status="failed")
    chat_file(train, 11)
    with pytest.raises(RagtuneError, match="changed or vanished since job"):
        jobs.resume(job.id)
    train.unlink()
    with pytest.raises(RagtuneError, match="changed or vanished since job"):
        jobs.resume(job.id)


def test_only_queued_or_running_jobs_can_be_cancelled(tmp_path):
    jobs = Jobs(tmp_path)
    job = jobs.create(chat_file(tmp_path / "t.jsonl"), None, "words", TuneConfig())
    assert jobs.cancel(job.id).status == "cancelled"  # a queued local job: at once
    with pytest.raises(RagtuneError, match="is cancelled; only queued or running jobs can be cancelled"):
        jobs.cancel(job.id)
