"""The packaged SmolLM2 fine-tuned for a few steps on the shipped example set: the adapter loads and
changes what the model says."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest
import torch

from ragtune.finetune.jobs import JobStore
from ragtune.finetune.trainer import TuneConfig, job_dir, run
from ragtune.generation.transformers_lm import TransformersGenerator

pytestmark = pytest.mark.integration
SUPPORT = Path(str(files("ragtune") / "demo" / "finetune" / "support.jsonl"))


def test_a_few_lora_steps_on_smollm2(tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text("\n".join(SUPPORT.read_text().splitlines()[:16]) + "\n")
    store = JobStore(tmp_path / "jobs.db")
    job = store.create("smollm2-135m", str(train), "x", None, None,
                       vars(TuneConfig(max_steps=2, batch_size=4, grad_accum=1, max_seq_len=192, lr=1e-3)))
    adapter = run(tmp_path, store, job.id)
    assert store.get(job.id).status == "succeeded" and len(store.steps(job.id)) == 2
    assert adapter == job_dir(tmp_path, job.id) / "adapter"
    messages = json.loads(SUPPORT.read_text().splitlines()[20])["messages"][:-1]
    base, tuned = TransformersGenerator(), TransformersGenerator(adapter=str(adapter))
    base.generate(messages, max_tokens=1), tuned.generate(messages, max_tokens=1)
    inputs = base._tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        diff = (base._model(**inputs).logits - tuned._model(**inputs).logits).abs().max().item()
    assert diff > 1e-2
