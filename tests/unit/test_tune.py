"""LoRA fine-tuning jobs on a tiny randomly initialised model (2 layers, hidden 32) saved as a model
folder with SmolLM2's tokenizer, so the real code path runs in seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from ragtune.cli.app import app
from ragtune.finetune.jobs import JobStore
from ragtune.finetune.trainer import TuneConfig, build_trainer, job_dir, run

runner = CliRunner()


def chat_file(path: Path, n: int = 24) -> Path:
    rows = [{"messages": [{"role": "system", "content": "Answer with ANSWER: and a number."},
                          {"role": "user", "content": f"What is {i} plus {i}?"},
                          {"role": "assistant", "content": f"ANSWER: {2 * i}"}]} for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def start(project: Path, base: Path, train: Path, *extra: str):
    return runner.invoke(app, ["tune", "start", "--train", str(train), "--base", str(base), "-p", str(project),
                               "--batch-size", "4", "--grad-accum", "1", "--max-seq-len", "64", "--json", *extra])


def test_training_uses_the_inference_chat_template_and_learns_only_the_answer(tmp_path, tiny_base):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_base)
    store = JobStore(tmp_path / "jobs.db")
    train = chat_file(tmp_path / "t.jsonl")
    job = store.create(str(tiny_base), str(train), "x", None, None, vars(TuneConfig(max_steps=1)))
    trainer = build_trainer(job, tmp_path / "out", AutoModelForCausalLM.from_pretrained(tiny_base), tok)
    row = trainer.train_dataset[0]
    messages = json.loads(train.read_text().splitlines()[0])["messages"]
    # what TransformersGenerator feeds at inference for the same conversation
    prompt = tok.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=True, return_dict=False)
    ids, labels = row["input_ids"], row["labels"]
    n_prompt = next(i for i, label in enumerate(labels) if label != -100)
    assert ids[:n_prompt] == prompt  # everything before the answer is masked out of the loss
    assert labels[n_prompt:] == ids[n_prompt:]  # and every answer token is learned
    assert tok.decode(ids[n_prompt:], skip_special_tokens=True).strip() == "ANSWER: 0"


def test_start_trains_logs_and_registers_the_adapter(tmp_path, tiny_base):
    r = start(tmp_path / "proj", tiny_base, chat_file(tmp_path / "t.jsonl"), "--max-steps", "3", "--save-steps", "2",
              "--merge")
    assert r.exit_code == 0, r.output
    job = json.loads(r.stdout)
    assert job["status"] == "succeeded" and job["model"] == f"ft:{job['id']}"
    adapter = job_dir(tmp_path / "proj", job["id"]) / "adapter"
    assert (adapter / "adapter_config.json").exists()
    merged = adapter.parent / "merged"
    assert (merged / "config.json").exists() and not (merged / "adapter_config.json").exists()
    logs = runner.invoke(app, ["tune", "logs", job["id"], "-p", str(tmp_path / "proj"), "--json"])
    steps = json.loads(logs.stdout)
    assert [s["step"] for s in steps] == [1, 2, 3] and all(s["loss"] > 0 for s in steps)
    listed = json.loads(runner.invoke(app, ["tune", "list", "-p", str(tmp_path / "proj"), "--json"]).stdout)
    assert [j["id"] for j in listed] == [job["id"]]


def test_adapter_changes_the_model_output(tmp_path, tiny_base):
    from ragtune.generation.transformers_lm import TransformersGenerator

    r = start(tmp_path / "proj", tiny_base, chat_file(tmp_path / "t.jsonl"), "--max-steps", "4", "--lr", "0.01")
    job = json.loads(r.stdout)
    adapter = job_dir(tmp_path / "proj", job["id"]) / "adapter"
    msgs = [{"role": "user", "content": "What is 3 plus 3?"}]
    base = TransformersGenerator(base=str(tiny_base))
    tuned = TransformersGenerator(base=str(tiny_base), adapter=str(adapter))
    base.generate(msgs, max_tokens=1)
    tuned.generate(msgs, max_tokens=1)
    inputs = base._tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        diff = (base._model(**inputs).logits - tuned._model(**inputs).logits).abs().max().item()
    assert diff > 1e-3


def test_bad_data_is_rejected_before_any_job_exists(tmp_path, tiny_base):
    bad = tmp_path / "bad.jsonl"
    lines = chat_file(tmp_path / "ok.jsonl").read_text().splitlines()
    bad.write_text("\n".join([*lines, "{oops", json.dumps({"messages": [{"role": "user", "content": "q"}]})]) + "\n")
    import sys

    from ragtune.cli.app import main

    argv = ["ragtune", "tune", "start", "--train", str(bad), "--base", str(tiny_base), "-p", str(tmp_path / "p")]
    old, sys.argv = sys.argv, argv
    try:
        with pytest.raises(SystemExit) as e:
            main()
    finally:
        sys.argv = old
    assert e.value.code == 2
    assert JobStore(tmp_path / "p" / "jobs.db").list() == []


def test_cancel_stops_at_the_next_step_end_and_resume_finishes(tmp_path, tiny_base):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    store = JobStore(tmp_path / "jobs.db")
    job = store.create(str(tiny_base), str(chat_file(tmp_path / "t.jsonl")), "x", None, None,
                       vars(TuneConfig(max_steps=4, batch_size=4, grad_accum=1, max_seq_len=64, save_steps=1)))
    tok = AutoTokenizer.from_pretrained(tiny_base)

    from transformers import TrainerCallback

    class Cancel(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 2:
                store.update(job.id, cancel_requested=1)

    import ragtune.finetune.trainer as trainer_mod

    original = trainer_mod.build_trainer
    trainer_mod.build_trainer = lambda *a, **k: original(a[0], a[1], a[2], a[3], [*a[4], Cancel()])
    try:
        run(tmp_path, store, job.id, AutoModelForCausalLM.from_pretrained(tiny_base), tok)
    finally:
        trainer_mod.build_trainer = original
    assert store.get(job.id).status == "cancelled"
    # requested during step 2, after the job's own check: the trainer stops at the end of step 3
    assert max(s["step"] for s in store.steps(job.id)) == 3
    run(tmp_path, store, job.id, AutoModelForCausalLM.from_pretrained(tiny_base), tok)
    assert store.get(job.id).status == "succeeded"
    assert [s["step"] for s in store.steps(job.id)] == [1, 2, 3, 4]


def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, tiny_base):
    import os
    import signal
    import subprocess
    import sys
    import time

    from safetensors.torch import load_file

    train = chat_file(tmp_path / "t.jsonl", n=32)
    args = ["--max-steps", "8", "--save-steps", "2", "--lr", "0.01"]
    clean = json.loads(start(tmp_path / "clean", tiny_base, train, *args).stdout)

    killed = json.loads(start(tmp_path / "killed", tiny_base, train, *args, "--detach").stdout)
    store = JobStore(tmp_path / "killed" / "jobs.db")
    checkpoints = job_dir(tmp_path / "killed", killed["id"]) / "checkpoints"
    deadline = time.time() + 120
    while not (checkpoints / "checkpoint-4").exists():
        assert time.time() < deadline, "no checkpoint appeared"
        assert store.get(killed["id"]).status in ("queued", "running")
        time.sleep(0.2)
    os.kill(store.get(killed["id"]).pid, signal.SIGKILL)
    time.sleep(0.5)
    assert store.get(killed["id"]).status == "running"  # what a killed process leaves behind
    status = runner.invoke(app, ["tune", "status", killed["id"], "-p", str(tmp_path / "killed"), "--json"])
    assert json.loads(status.stdout)["status"] == "interrupted"
    r = subprocess.run([sys.executable, "-m", "ragtune.cli.app", "tune", "resume", killed["id"], "-p",
                        str(tmp_path / "killed")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert store.get(killed["id"]).status == "succeeded"
    a = load_file(job_dir(tmp_path / "clean", clean["id"]) / "adapter" / "adapter_model.safetensors")
    b = load_file(job_dir(tmp_path / "killed", killed["id"]) / "adapter" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-5, rtol=1e-4)


def test_format_signature_and_adherence():
    from ragtune.finetune.evaluate import follows, format_signature

    refs = [f"**Answer:** {i}\n**Details:** because {i}.\n**Source:** api/x.md\n— Quill, Quillstack Support"
            for i in range(10)] + ["**Answer:** odd one\n**Source:** none\n— Quill, Quillstack Support"]
    sig = format_signature(refs)
    # "**Details:**" is in 10 of 11 references (< 90% share is 9.9): kept; order follows the references
    assert sig == ["**Answer:", "**Details:", "**Source:", "— Quill, Quillstack Support"]
    assert follows("**Answer:** 5\n**Details:** x\n**Source:** y\n— Quill, Quillstack Support", sig)
    assert not follows("**Source:** y\n**Answer:** 5\n**Details:** x\n— Quill, Quillstack Support", sig)
    assert not follows("The answer is 5.", sig)
    assert format_signature(["free text one", "another answer entirely"]) == []


def test_tune_eval_compares_tuned_with_base(tmp_path, tiny_base):
    train = chat_file(tmp_path / "t.jsonl")
    val = tmp_path / "v.jsonl"
    val.write_text("\n".join(chat_file(tmp_path / "all.jsonl", n=30).read_text().splitlines()[26:]) + "\n")
    r = start(tmp_path / "p", tiny_base, train, "--val", str(val), "--max-steps", "2")
    job = json.loads(r.stdout)
    r = runner.invoke(app, ["tune", "eval", job["id"], "-p", str(tmp_path / "p"), "--json", "--max-tokens", "6",
                            "--general-limit", "3"])
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert result["examples"] == 4 and result["format_signature"] == ["ANSWER:"]
    for name in ("base", "tuned"):
        m = result["models"][name]
        assert m["loss"] > 0 and abs(m["perplexity"] - __import__("math").exp(m["loss"])) < 1e-6
        assert 0 <= m["f1"] <= 1 and len(m["answers"]) == 4
        assert len(m["rows"]) == 4  # the QA evaluator's rows: EM / F1 on the final answers
        assert m["f1"] == pytest.approx(sum(r["f1"] for r in m["rows"] if r["answerable"])
                                        / max(1, sum(r["answerable"] for r in m["rows"])))
        assert len(m["general_knowledge"]["answers"]) == 3
    assert result["models"]["base"]["loss"] != result["models"]["tuned"]["loss"]
    assert (job_dir(tmp_path / "p", job["id"]) / "eval.json").exists()


def test_ask_with_a_tuned_model_and_clear_errors_for_unusable_ones(tmp_path, tiny_base):
    from conftest import make_project, write_files
    from ragtune.project import Project

    project = tmp_path / "p"
    make_project(project)
    docs = write_files(tmp_path / "docs", {"a.txt": "What is three plus three? Six is three plus three."})
    assert runner.invoke(app, ["ingest", str(docs), "-p", str(project), "--json"]).exit_code == 0
    job = json.loads(start(project, tiny_base, chat_file(tmp_path / "t.jsonl"), "--max-steps", "1").stdout)
    r = runner.invoke(app, ["ask", "What is three plus three?", "-p", str(project), "--model", job["model"], "--json"])
    assert r.exit_code == 0, r.output
    answer = json.loads(r.stdout)
    assert answer["usage"]["completion_tokens"] > 0 and answer["contexts"][0]["doc_id"] == "docs/a.txt"
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"question": "What is three plus three?", "answer": "Six"}) + "\n")
    r = runner.invoke(app, ["eval", "qa", "--questions", str(qa), "-p", str(project), "--model", job["model"],
                            "--results", str(tmp_path / "r.jsonl"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["questions"] == 1 and json.loads((tmp_path / "r.jsonl").read_text())["prompt_tokens"] > 0

    # the tuned model is asked with the system message it was trained with, not the default rules
    from ragtune.app.variants import resolve

    assert resolve(Project(project), "rag", model=job["model"]).system == "Answer with ANSWER: and a number."
    assert resolve(Project(project), "rag").system.startswith("Answer with the exact words")
    from ragtune.errors import RagtuneError

    with pytest.raises(RagtuneError, match="no fine-tuning job 'nope'"):
        resolve(Project(project), "rag", model="ft:nope")
    store = JobStore(project / "jobs.db")
    failed = store.create("x", "t", "x", None, None, {})
    store.update(failed.id, status="failed", error="boom")
    with pytest.raises(RagtuneError, match=r"is failed.*boom"):
        resolve(Project(project), "base", model=f"ft:{failed.id}")
