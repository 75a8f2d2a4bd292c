"""Retriever tuning for real: the packaged MiniLM trained a few steps as a bi-encoder and as a cross-encoder
through `ragtune tune retriever`, compared with `eval retrieval --job`, made the project's with `tune use`,
and a job killed mid-training resumed from the trainer's checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import make_project, run_main
from ragtune.embedding import EMBEDDERS
from ragtune.embedding.sentence_transformers import SentenceTransformerEmbedder
from ragtune.finetune.jobs import JobStore, job_dir
from ragtune.project import Project
from ragtune.rag.ingest import ingest
from retriever_corpus import beir

pytestmark = pytest.mark.integration
SHORT = ["--max-steps", "2", "--batch-size", "8", "--save-steps", "1"]


@pytest.fixture
def judged(tmp_path):
    corpus, queries, qrels = beir(tmp_path / "beir")
    p = make_project(tmp_path / "proj")
    ingest(p, [corpus])
    return p, corpus, queries, qrels


@pytest.mark.timeout(1800)  # a liveness bound for a loaded machine, not a measurement
def test_both_models_train_compare_and_serve(tmp_path, judged, monkeypatch, capsys):
    p, corpus, queries, qrels = judged
    code, out, err = run_main(monkeypatch, capsys, "tune", "retriever", "--queries", queries, "--qrels", qrels,
                              *SHORT, "--negatives", "2", "-p", p.root, "--json")
    assert code in (0, None), err
    started = json.loads(out)
    embedder, reranker = started["jobs"]
    assert (embedder["status"], reranker["status"]) == ("succeeded", "succeeded")
    assert embedder["config"]["kind"] == "embedder" and reranker["config"]["kind"] == "reranker"
    assert started["data"]["heldout_queries"] == 6
    steps = JobStore(p.root / "jobs.db").steps(embedder["id"])
    assert [s["step"] for s in steps if s["loss"] is not None] == [1, 2]

    for job in (embedder, reranker):
        code, out, err = run_main(monkeypatch, capsys, "eval", "retrieval", "--job", job["id"], "-p", p.root, "--json")
        assert code in (0, None), err
        compared = json.loads(out)
        assert compared["base"]["queries"] == compared["tuned"]["queries"] == 6
        assert 0 <= compared["tuned"]["ndcg@10"] <= 1
        assert compared["difference"]["ndcg@10"] == pytest.approx(compared["tuned"]["ndcg@10"] - compared["base"]["ndcg@10"])

    # the tuned embedder, exported to ONNX and run with int8 compute, embeds as the trained model does
    tuned_project = tmp_path / "tuned"
    code, _, err = run_main(monkeypatch, capsys, "tune", "use", embedder["id"], "--into", tuned_project, "-p", p.root)
    assert code in (0, None), err
    onnx = Project(tuned_project).embedder
    trained = SentenceTransformerEmbedder(model=str(job_dir(p.root, embedder["id"]) / "model"))
    texts = ["what was measured about cobalt?", "The cobalt report covers cobalt samples."]
    assert np.all((onnx.embed(texts) * trained.embed(texts)).sum(1) > 0.98)
    assert EMBEDDERS.from_dict(onnx.to_dict()).to_dict() == onnx.to_dict()
    ingest(Project(tuned_project), [corpus])
    hits = Project(tuned_project).retriever.search("what was measured about cobalt?", 3)
    assert hits[0].chunk.doc_id == "d2"

    code, _, err = run_main(monkeypatch, capsys, "tune", "use", reranker["id"], "-p", p.root)
    assert code in (0, None), err
    hits = Project(p.root).retriever.search("what was measured about cobalt?", 3)
    assert "rerank" in hits[0].scores


@pytest.mark.timeout(1800)  # a liveness bound for a loaded machine: three processes each import torch
def test_a_killed_job_resumes_from_its_last_checkpoint(tmp_path, judged, monkeypatch, capsys):
    p, _, queries, qrels = judged
    code, out, err = run_main(monkeypatch, capsys, "tune", "retriever", "--queries", queries, "--qrels", qrels,
                              "--kind", "embedder", "--max-steps", "4", "--batch-size", "4", "--save-steps", "1",
                              "--negatives", "1",
                              "--detach", "-p", p.root, "--json")
    assert code in (0, None), err
    job = json.loads(out)["jobs"][0]
    store = JobStore(p.root / "jobs.db")
    checkpoints = job_dir(p.root, job["id"]) / "checkpoints"
    deadline = time.time() + 900  # a liveness bound, not a measurement
    while not (checkpoints / "checkpoint-1" / "trainer_state.json").exists():
        assert time.time() < deadline, "no checkpoint appeared"
        assert store.get(job["id"]).status in ("queued", "running"), store.get(job["id"]).error
        time.sleep(0.2)
    os.kill(store.get(job["id"]).pid, signal.SIGKILL)
    time.sleep(0.5)
    code, out, _ = run_main(monkeypatch, capsys, "tune", "status", job["id"], "-p", p.root, "--json")
    assert json.loads(out)["status"] == "interrupted"
    done = max(int(c.name.split("-")[1]) for c in checkpoints.glob("checkpoint-*") if (c / "trainer_state.json").exists())
    r = subprocess.run([sys.executable, "-m", "ragtune.cli.app", "tune", "resume", job["id"], "-p", str(p.root)],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    assert store.get(job["id"]).status == "succeeded"
    resumed = [int(line.split(" step ")[1].split("/")[0]) for line in r.stderr.splitlines() if f"job {job['id']} step" in line]
    assert resumed and resumed[0] == done + 1  # it went on from the checkpoint, not from the start
    assert (job_dir(p.root, job["id"]) / "onnx" / "model.onnx").is_file()
