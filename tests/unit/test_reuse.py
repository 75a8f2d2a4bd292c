"""The one rule for reusing a finished fine-tuning job (the demo bake-off loop and the mini-wiki benchmark)."""

from __future__ import annotations

import hashlib

from ragtune.app.reuse import finished_job
from ragtune.finetune.jobs import JobStore


def test_only_a_succeeded_job_on_the_same_bytes_base_and_settings_is_reused(tmp_path):
    train = tmp_path / "raft.jsonl"
    train.write_text('{"messages": []}\n')
    assert finished_job(tmp_path, train, "smollm2-135m") is None  # no job store yet
    sha = hashlib.sha256(train.read_bytes()).hexdigest()
    store = JobStore(tmp_path / "jobs.db")

    def job(status, base="smollm2-135m", digest=sha, **config):
        j = store.create(base, str(train), digest, None, None, {"epochs": 1.0, "lr": 1e-3, **config})
        store.update(j.id, status=status)
        return j

    job("failed")
    job("succeeded", base="qwen2.5-coder-0.5b")
    job("succeeded", digest="0" * 64)
    job("succeeded", epochs=2.0)
    assert finished_job(tmp_path, train, "smollm2-135m", {"epochs": 1.0}) is None
    first, second = job("succeeded"), job("succeeded")
    assert finished_job(tmp_path, train, "smollm2-135m", {"epochs": 1.0, "lr": 1e-3}).id == second.id != first.id
    copy = tmp_path / "moved.jsonl"
    copy.write_bytes(train.read_bytes())
    assert finished_job(tmp_path, copy, "smollm2-135m").id == second.id  # the same data under another name
    copy.write_text('{"messages": [{}]}\n')
    assert finished_job(tmp_path, copy, "smollm2-135m") is None
