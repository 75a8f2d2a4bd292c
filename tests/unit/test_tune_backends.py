"""Hosted fine-tuning through the providers' official SDKs, pointed at local fakes of their APIs (the
real services cannot be reached from here): what is uploaded and sent, how the provider's states
map onto the local job, and the finished model used through the ``openai`` generator."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fake_http import FakeServer, Request
from ragtune.cli.app import app
from ragtune.errors import RagtuneError
from ragtune.finetune.backends import TUNE_BACKENDS
from ragtune.finetune.jobs import JobStore
from ragtune.finetune.registry import tuned_model_spec
from ragtune.generation import GENERATORS
from ragtune.project import Project

runner = CliRunner()
CHAT = {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "tuned says hi"}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}


def chat_file(path: Path, n: int = 10, first: int = 0) -> Path:
    rows = [{"messages": [{"role": "user", "content": f"What is {i} plus {i}?"},
                          {"role": "assistant", "content": f"ANSWER: {2 * i}"}]} for i in range(first, first + n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


class FakeOpenAI:
    """OpenAI's files, fine-tuning jobs and chat endpoints; the job moves through ``states`` one read at a time."""

    def __init__(self, states=("running", "succeeded"), create_error=None):
        self.states, self.create_error, self.files = list(states), create_error, []
        self.job = None

    def __call__(self, req: Request):
        if req.path == "/v1/files":
            self.files.append(req.body)
            return 200, {"id": f"file-{len(self.files)}", "object": "file", "bytes": len(req.body), "created_at": 0,
                         "filename": "x.jsonl", "purpose": "fine-tune"}, {}
        if req.path == "/v1/fine_tuning/jobs":
            if self.create_error:
                return self.create_error, {"error": {"message": "model gpt-x is not available for fine-tuning"}}, {}
            self.job = {"id": "ftjob-abc", "object": "fine_tuning.job", "status": "validating_files",
                        "model": req.json()["model"], "created_at": 0, "fine_tuned_model": None, "error": None}
            return 200, self.job, {}
        if req.path == "/v1/fine_tuning/jobs/ftjob-abc" and req.method == "GET":
            self.job["status"] = self.states.pop(0) if self.states else self.job["status"]
            if self.job["status"] == "succeeded":
                self.job["fine_tuned_model"] = "ft:gpt-4o-mini-2024-07-18:acme:ragtune:xyz"
            if self.job["status"] == "failed":
                self.job["error"] = {"code": "invalid_file", "message": "line 3 has no assistant turn", "param": None}
            return 200, self.job, {}
        if req.path == "/v1/fine_tuning/jobs/ftjob-abc/cancel":
            self.job["status"] = "cancelled"
            self.states = []
            return 200, self.job, {}
        if req.path.startswith("/v1/fine_tuning/jobs/ftjob-abc/events"):
            events = [{"id": f"e{t}", "object": "fine_tuning.job.event", "created_at": t, "level": "info",
                       "message": m} for t, m in ((20, "Step 1/10: training loss=1.2"), (10, "Validating files"))]
            return 200, {"object": "list", "data": events, "has_more": False}, {}
        if req.path == "/v1/chat/completions":
            return 200, CHAT, {}
        return 404, {"error": {"message": f"no route {req.method} {req.path}"}}, {}


@pytest.fixture
def openai_api(monkeypatch):
    def serve(fake):
        srv = FakeServer(fake).__enter__()
        monkeypatch.setenv("OPENAI_BASE_URL", srv.url + "/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        servers.append(srv)
        return srv

    servers = []
    yield serve
    for s in servers:
        s.__exit__()


def start(project: Path, tmp: Path, *extra: str):
    return runner.invoke(app, ["tune", "start", "--backend", "openai", "--base", "gpt-4o-mini-2024-07-18",
                               "--train", str(chat_file(tmp / "t.jsonl")), "--val", str(chat_file(tmp / "v.jsonl", 2, first=100)),
                               "--epochs", "2", "--batch-size", "4", "--grad-accum", "2", "--seed", "7",
                               "-p", str(project), "--json", *extra])


def test_openai_job_uploads_creates_follows_and_serves_the_tuned_model(tmp_path, openai_api):
    fake = FakeOpenAI()
    srv = openai_api(fake)
    r = start(tmp_path / "p", tmp_path)
    assert r.exit_code == 0, r.output
    job = json.loads(r.stdout)
    assert (job["backend"], job["provider_job_id"], job["status"]) == ("openai", "ftjob-abc", "queued")
    # both files went up as multipart uploads for fine-tuning, byte for byte
    assert len(fake.files) == 2 and b'name="purpose"\r\n\r\nfine-tune' in fake.files[0]
    assert (tmp_path / "t.jsonl").read_bytes() in fake.files[0] and (tmp_path / "v.jsonl").read_bytes() in fake.files[1]
    create = next(q for q in srv.requests if q.path == "/v1/fine_tuning/jobs").json()
    assert create == {"model": "gpt-4o-mini-2024-07-18", "training_file": "file-1", "validation_file": "file-2",
                      "seed": 7, "suffix": f"ragtune-{job['id']}",
                      "method": {"type": "supervised",
                                 "supervised": {"hyperparameters": {"n_epochs": 2, "batch_size": 8}}}}

    def status():
        r = runner.invoke(app, ["tune", "status", job["id"], "-p", str(tmp_path / "p"), "--json"])
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)

    assert status()["status"] == "running"
    done = status()
    assert done["status"] == "succeeded" and done["provider_model"] == "ft:gpt-4o-mini-2024-07-18:acme:ragtune:xyz"
    assert [e["message"] for e in done["events"]] == ["Validating files", "Step 1/10: training loss=1.2"]
    reads = sum(q.path == "/v1/fine_tuning/jobs/ftjob-abc" for q in srv.requests)
    status()
    assert sum(q.path == "/v1/fine_tuning/jobs/ftjob-abc" for q in srv.requests) == reads  # finished: not asked again
    listed = json.loads(runner.invoke(app, ["tune", "list", "-p", str(tmp_path / "p"), "--json"]).stdout)
    assert [(j["id"], j["status"]) for j in listed] == [(job["id"], "succeeded")]

    # ft:<job> is now an openai generator on the provider's endpoint, asking for the provider's model name
    spec = tuned_model_spec(Project(tmp_path / "p"), f"ft:{job['id']}")
    assert spec.type == "openai" and spec.params["model"] == "ft:gpt-4o-mini-2024-07-18:acme:ragtune:xyz"
    out = GENERATORS.from_dict(spec.model_dump()).generate([{"role": "user", "content": "hi"}])
    assert out.text == "tuned says hi"
    assert srv.requests[-1].json()["model"] == "ft:gpt-4o-mini-2024-07-18:acme:ragtune:xyz"


def test_cancel_goes_to_the_provider(tmp_path, openai_api):
    srv = openai_api(FakeOpenAI(states=("running", "running")))
    job = json.loads(start(tmp_path / "p", tmp_path).stdout)
    r = runner.invoke(app, ["tune", "cancel", job["id"], "-p", str(tmp_path / "p")])
    assert r.exit_code == 0, r.output
    assert any(q.method == "POST" and q.path == "/v1/fine_tuning/jobs/ftjob-abc/cancel" for q in srv.requests)
    assert JobStore(tmp_path / "p" / "jobs.db").get(job["id"]).status == "cancelled"
    with pytest.raises(RagtuneError, match="is cancelled on openai"):
        tuned_model_spec(Project(tmp_path / "p"), job["id"])


def test_a_failed_remote_job_keeps_the_providers_reason(tmp_path, openai_api):
    openai_api(FakeOpenAI(states=("failed",)))
    job = json.loads(start(tmp_path / "p", tmp_path).stdout)
    with pytest.raises(RagtuneError, match=r"is failed on openai \(line 3 has no assistant turn\)"):
        tuned_model_spec(Project(tmp_path / "p"), job["id"])


def test_a_rejected_create_fails_the_job_with_the_providers_words(tmp_path, openai_api):
    openai_api(FakeOpenAI(create_error=400))
    from ragtune.finetune.backends.openai_ft import OpenAIBackend

    store = JobStore(tmp_path / "jobs.db")
    job = store.create("gpt-x", str(chat_file(tmp_path / "t.jsonl")), "s", None, None, {"epochs": 1.0}, "openai")
    with pytest.raises(RagtuneError, match=r"^openai fine-tuning API could not create the job \(HTTP 400: model "
                                           r"gpt-x is not available for fine-tuning\)$"):
        OpenAIBackend().submit(tmp_path, store, job)
    failed = store.get(job.id)
    assert failed.status == "failed" and "not available" in failed.error and failed.provider_job_id is None


def test_settings_a_provider_cannot_honour_are_refused_before_anything_exists(tmp_path, openai_api):
    srv = openai_api(FakeOpenAI())
    r = start(tmp_path / "p", tmp_path, "--max-steps", "10")
    assert r.exit_code != 0 and "counts whole epochs" in str(r.exception)
    assert srv.requests == [] and JobStore(tmp_path / "p" / "jobs.db").list() == []


def test_local_only_commands_refuse_a_hosted_job(tmp_path, openai_api):
    openai_api(FakeOpenAI(states=("running",)))
    job = json.loads(start(tmp_path / "p", tmp_path).stdout)
    for command in ("resume", "logs", "eval"):
        r = runner.invoke(app, ["tune", command, job["id"], "-p", str(tmp_path / "p")])
        assert r.exit_code != 0 and str(r.exception).startswith(f"job {job['id']} trains on openai; only a local job")


def test_an_old_job_store_gains_the_provider_columns_and_keeps_its_rows(tmp_path):
    db = sqlite3.connect(tmp_path / "jobs.db")
    db.executescript("""create table jobs (id text primary key, base text not null, train_file text not null,
      train_sha256 text not null, val_file text, val_sha256 text, config text not null, status text not null,
      cancel_requested integer default 0, created real not null, started real, finished real, error text, pid integer);
      insert into jobs (id, base, train_file, train_sha256, config, status, created)
      values ('old1', 'smollm2-135m', 't.jsonl', 'abc', '{"epochs": 1.0}', 'succeeded', 1.0);""")
    db.commit()
    db.close()
    store = JobStore(tmp_path / "jobs.db")
    old = store.get("old1")
    assert (old.backend, old.provider_job_id, old.status, old.config) == ("local", None, "succeeded", {"epochs": 1.0})
    store.update("old1", provider_job_id="x")
    assert JobStore(tmp_path / "jobs.db").get("old1").provider_job_id == "x"  # reopening does not migrate twice


# --- Together ----------------------------------------------------------------------------------------
LIMITS = {"default_gradient_accumulation_steps": 1, "max_learning_rate": 1.0, "max_num_checkpoints": 10,
          "max_num_epochs": 20, "max_num_evals": 10, "max_seq_length_dpo": 8192, "max_seq_length_sft": 8192,
          "merge_output_lora": False, "min_learning_rate": 0.0, "min_max_seq_length": 128, "supports_full_training": False,
          "supports_reasoning": False, "model_name": "meta-llama/Llama-3.2-1B-Instruct", "full_training": None,
          "lora_training": {"default_rank": 8, "max_batch_size": 32, "max_batch_size_dpo": 16, "max_rank": 64,
                            "min_batch_size": 1, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]}}


class FakeTogether:
    def __init__(self, states=("running", "completed")):
        self.states, self.uploaded, self.job = list(states), [], None

    def __call__(self, req: Request):
        path = req.path.split("?")[0]
        if path == "/v1/fine-tunes/models/limits":
            return 200, LIMITS, {}
        if path == "/v1/files":  # the SDK asks where to put the file, then PUTs it there
            n = len(self.uploaded) + 1
            return 302, {}, {"location": f"{self.url}/upload/file-{n}", "x-together-file-id": f"file-{n}"}
        if path.startswith("/upload/"):
            self.uploaded.append(req.body)
            return 200, {}, {}
        if m := re.fullmatch(r"/v1/files/(file-\d)/preprocess", path):
            return 200, {"id": m[1], "object": "file", "bytes": 1, "created_at": 0, "filename": "t.jsonl",
                         "purpose": "fine-tune", "FileType": "jsonl", "Processed": True, "LineCount": 4}, {}
        if path == "/v1/fine-tunes/estimate-price":
            return 200, {"estimation_available": True, "allowed_to_proceed": True, "estimated_total_price": 0.5}, {}
        if path == "/v1/fine-tunes":
            self.job = {"id": "ft-123", "status": "pending", "user_id": "u", "model": req.json()["model"]}
            return 200, self.job, {}
        if path == "/v1/fine-tunes/ft-123":
            self.job["status"] = self.states.pop(0) if self.states else self.job["status"]
            if self.job["status"] == "completed":
                self.job["model_output_name"] = "acme/Llama-3.2-1B-Instruct-ragtune-1"
            return 200, self.job, {}
        if path == "/v1/fine-tunes/ft-123/events":
            return 200, {"data": [{"object": "fine-tune-event", "created_at": f"2026-01-01T00:00:0{i}", "level": lvl,
                                   "message": msg, "type": "job_start"}
                                  for i, (lvl, msg) in enumerate([("info", "started"), ("error", "CUDA OOM at step 4")])]}, {}
        return 404, {"error": {"message": f"no route {req.method} {req.path}"}}, {}


def test_together_lora_job_carries_ragtunes_settings_and_serves_the_output_model(tmp_path, monkeypatch):
    pytest.importorskip("together", reason="pip install 'ragtune[together]'")
    fake = FakeTogether()
    with FakeServer(fake) as srv:
        fake.url = srv.url
        monkeypatch.setenv("TOGETHER_BASE_URL", srv.url + "/v1")
        monkeypatch.setenv("TOGETHER_API_KEY", "tg-test")
        r = runner.invoke(app, ["tune", "start", "--backend", "together", "--base", "meta-llama/Llama-3.2-1B-Instruct",
                                "--train", str(chat_file(tmp_path / "t.jsonl")), "--epochs", "3", "--lr", "0.0003",
                                "--lora-r", "16", "--lora-alpha", "32", "--lora-dropout", "0.1", "--batch-size", "8",
                                "--grad-accum", "2", "--max-seq-len", "512", "-p", str(tmp_path / "p"), "--json"])
        assert r.exit_code == 0, r.output
        job = json.loads(r.stdout)
        assert (job["provider_job_id"], job["status"]) == ("ft-123", "queued")
        assert fake.uploaded == [(tmp_path / "t.jsonl").read_bytes()]
        sent = next(q for q in srv.requests if q.path == "/v1/fine-tunes").json()
        assert sent["training_file"] == "file-1" and sent["model"] == "meta-llama/Llama-3.2-1B-Instruct"
        assert (sent["n_epochs"], sent["learning_rate"], sent["batch_size"], sent["max_seq_length"]) == (3, 0.0003, 8, 512)
        assert sent["training_type"] == {"type": "Lora", "lora_r": 16, "lora_alpha": 32, "lora_dropout": 0.1,
                                         "lora_trainable_modules": "all-linear"}
        assert sent["suffix"] == f"ragtune-{job['id']}" and sent["random_seed"] == 0
        store = JobStore(tmp_path / "p" / "jobs.db")
        backend = TUNE_BACKENDS.create("together")
        assert backend.refresh(store, store.get(job["id"])).status == "running"
        spec = tuned_model_spec(Project(tmp_path / "p"), job["id"])
    assert spec.model_dump() == {"type": "openai", "params": {"model": "acme/Llama-3.2-1B-Instruct-ragtune-1",
                                                              "base_url": "https://api.together.xyz/v1",
                                                              "api_key_env": "TOGETHER_API_KEY"}}


def test_together_error_state_takes_its_message_from_the_last_error_event(tmp_path, monkeypatch):
    pytest.importorskip("together", reason="pip install 'ragtune[together]'")
    fake = FakeTogether(states=("error",))
    with FakeServer(fake) as srv:
        fake.url = srv.url
        monkeypatch.setenv("TOGETHER_BASE_URL", srv.url + "/v1")
        store = JobStore(tmp_path / "jobs.db")
        job = store.create("meta-llama/Llama-3.2-1B-Instruct", str(chat_file(tmp_path / "t.jsonl")), "s", None, None,
                           {"epochs": 1.0}, "together")
        backend = TUNE_BACKENDS.create("together")
        backend.submit(tmp_path, store, job)
        failed = backend.refresh(store, store.get(job.id))
    assert (failed.status, failed.error) == ("failed", "CUDA OOM at step 4")


def test_a_tuned_model_on_llama_cpp_runs_with_the_engines_settings(tmp_path):
    from conftest import make_project
    from ragtune.app.variants import resolve
    from ragtune.config import ComponentSpec
    from ragtune.finetune.jobs import job_dir, job_store

    p = make_project(tmp_path / "p")
    p.config.generator = ComponentSpec(type="llamacpp", params={"threads": 1, "model": "qwen2.5-coder-0.5b"})
    p.save()
    store = job_store(p.root)
    job = store.create("smollm2-135m", str(chat_file(tmp_path / "t.jsonl")), "s", None, None, {"epochs": 1.0})
    store.update(job.id, status="succeeded")
    folder = job_dir(p.root, job.id)
    (folder / "adapter").mkdir(parents=True)
    (folder / "adapter.gguf").write_bytes(b"")
    # the job's own base and adapter stand; the engine's threads (one, on a loaded machine) hold for it too
    spec = resolve(Project(p.root), f"ft:{job.id}").generator
    assert spec.type == "llamacpp"
    assert spec.params == {"threads": 1, "model": "smollm2-135m", "adapter": str((folder / "adapter.gguf").resolve())}
