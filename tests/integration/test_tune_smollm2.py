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

    # the llama.cpp export of the same adapter scores the next token like transformers does (up to the
    # base's Q4 arithmetic), and unlike the base: a wrong tensor mapping or q/k row order would not
    from ragtune.generation.llamacpp import LlamaCppGenerator

    gguf = job_dir(tmp_path, job.id) / "adapter.gguf"
    assert gguf.is_file()
    with torch.no_grad():
        ref = torch.log_softmax(tuned._model(**inputs).logits[0, -1], -1)
        ref_base = torch.log_softmax(base._model(**inputs).logits[0, -1], -1)
    fast = _first_token_logprobs(LlamaCppGenerator(adapter=str(gguf)), messages)
    to_tuned = max(abs(lp - ref[t].item()) for t, lp in fast.items())
    to_base = max(abs(lp - ref_base[t].item()) for t, lp in fast.items())
    assert to_tuned < to_base / 2, (to_tuned, to_base)


def _first_token_logprobs(gen, messages) -> dict[int, float]:
    r = gen.server.handle_chat_completions({**gen._request(messages, 1, 0.0, None), "logprobs": True,
                                             "top_logprobs": 5})
    return {t["id"]: t["logprob"] for t in r["choices"][0]["logprobs"]["content"][0]["top_logprobs"]}
