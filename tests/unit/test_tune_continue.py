"""Continued training (TuneConfig.init_adapter): a job can start from a finished job's LoRA adapter instead of a
fresh one, which `ragtune retrain --continue-adapter` uses. Known answer: at learning rate 0 nothing moves, so a
continued adapter is saved exactly as it started, and a fresh one keeps peft's zero-initialised B matrices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

from ragtune.app.jobs import Jobs
from ragtune.cli.app import app
from ragtune.errors import RagtuneError
from ragtune.finetune.backends import TUNE_BACKENDS
from ragtune.finetune.trainer import TuneConfig, job_dir

runner = CliRunner()


def chat_file(path: Path, n: int = 12) -> Path:
    rows = [{"messages": [{"role": "user", "content": f"What is {i} plus {i}?"},
                          {"role": "assistant", "content": f"ANSWER: {2 * i}"}]} for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def weights(project: Path, job_id: str) -> dict:
    return load_file(str(job_dir(project, job_id) / "adapter" / "adapter_model.safetensors"))


def test_a_job_continues_from_a_previous_adapter(tmp_path, tiny_base):
    project, train = tmp_path / "p", chat_file(tmp_path / "t.jsonl")
    r = runner.invoke(app, ["tune", "start", "--train", str(train), "--base", str(tiny_base), "-p", str(project),
                            "--max-steps", "3", "--lr", "0.01", "--batch-size", "4", "--grad-accum", "1",
                            "--max-seq-len", "64", "--json"])
    assert r.exit_code == 0, r.output
    first = json.loads(r.stdout)["id"]
    trained = weights(project, first)
    assert any(t.abs().max() > 0 for n, t in trained.items() if "lora_B" in n)

    jobs = Jobs(project)
    still: dict = {"max_steps": 2, "lr": 0.0, "batch_size": 4, "grad_accum": 1, "max_seq_len": 64}
    adapter = str(job_dir(project, first) / "adapter")
    continued = jobs.start(train, None, str(tiny_base), TuneConfig(**still, init_adapter=adapter))
    fresh = jobs.start(train, None, str(tiny_base), TuneConfig(**still))
    assert continued.status == fresh.status == "succeeded"
    after = weights(project, continued.id)
    assert after.keys() == trained.keys()
    assert all((after[n] == trained[n]).all() for n in trained)
    assert all(t.abs().max() == 0 for n, t in weights(project, fresh.id).items() if "lora_B" in n)


def test_a_hosted_backend_refuses_to_continue_a_local_adapter():
    with pytest.raises(RagtuneError, match="cannot continue a local LoRA adapter"):
        TUNE_BACKENDS.create("together").check(TuneConfig(epochs=1, init_adapter="jobs/x/adapter"))
