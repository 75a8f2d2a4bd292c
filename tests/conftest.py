"""Shared fixtures and helpers: projects built on the deterministic fakes, and a small corpus."""

from __future__ import annotations

import os
import signal

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ["COLUMNS"] = "200"  # rich wraps CLI messages at the console width; keep test output on one line

import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from ragtune.config import ComponentSpec, ProjectConfig
from ragtune.project import Project

# A small corpus with one clearly best document per topic word, for retrieval and answer tests: the
# conformance suite's, so the two cannot drift apart.
from ragtune.testing.store_conformance import CORPUS


def run_main(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """The installed entry point, in-process: RagtuneError becomes exit 2 only here. Returns the exit
    code, stdout, and stderr with its line wrapping undone."""
    import sys

    from ragtune.cli.app import main

    monkeypatch.setattr(sys, "argv", ["ragtune", *[str(a) for a in args]])
    with pytest.raises(SystemExit) as e:
        main()
    captured = capsys.readouterr()
    return e.value.code, captured.out, " ".join(captured.err.split())


def fake_config(**overrides) -> ProjectConfig:
    """A project config on the fakes: hashing embedder, scripted generator, default chunker."""
    data = {"embedder": ComponentSpec(type="hashing"), "generator": ComponentSpec(type="scripted")}
    data.update(overrides)
    return ProjectConfig(**data)


def make_project(root: Path, **overrides) -> Project:
    p = Project(root, fake_config(**overrides))
    p.save()
    return p


def store_snapshot(p: Project) -> dict:
    """Every stored chunk (text, metadata, rounded vector) by id; fails on a duplicate id."""
    r = p.store.col.get(include=["documents", "metadatas", "embeddings"])
    assert len(r["ids"]) == len(set(r["ids"])) == p.store.count()
    return {i: (d, m, np.asarray(e).round(5).tolist())
            for i, d, m, e in zip(r["ids"], r["documents"], r["metadatas"], r["embeddings"], strict=True)}


def run_child(args: Sequence[str], stop_when: Callable[[list[str]], bool],
              stop: Callable[[subprocess.Popen], None]) -> tuple[int, list[str], str]:
    """A Python child that reports progress on stdout, one line a report: once ``stop_when(lines so far)``
    holds, ``stop(proc)`` signals it. Returns its exit code, its report lines and its stderr."""
    # a test run started in the background by a non-interactive shell ignores SIGINT, and a child inherits
    # that: give it the default disposition, as a terminal's Ctrl-C would find it
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line.strip())
            if stop_when(lines):
                stop(proc)
                break
        proc.wait(timeout=60)  # a liveness bound, not a measurement
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    return proc.returncode, lines, err


def write_files(folder: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


class CountingEmbedder:
    """Wraps an embedder and records every text it is asked to embed."""

    def __init__(self, inner):
        self.inner = inner
        self.dimension = inner.dimension
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.embed(texts)

    def to_dict(self) -> dict:
        return self.inner.to_dict()

    @property
    def texts(self) -> list[str]:
        return [t for call in self.calls for t in call]




@pytest.fixture
def project(tmp_path) -> Project:
    return make_project(tmp_path / "proj")


@pytest.fixture
def corpus_dir(tmp_path) -> Path:
    return write_files(tmp_path / "docs", CORPUS)


@pytest.fixture
def indexed(tmp_path, corpus_dir):
    """A fake project with CORPUS ingested; returns (project, docs folder)."""
    from ragtune.rag.ingest import ingest

    p = make_project(tmp_path / "proj")
    report = ingest(p, [corpus_dir / "kb"])
    assert report.added == len(CORPUS) and not report.problems
    return p, corpus_dir


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    """A tiny randomly initialised causal LM (2 layers, hidden 32) saved as a model folder with
    SmolLM2's tokenizer and chat template: the real fine-tuning path runs on it in seconds."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from ragtune.packaged import smollm2_gguf

    gguf = smollm2_gguf()
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                         max_position_embeddings=2048, tie_word_embeddings=True))
    folder = tmp_path_factory.mktemp("tiny-base")
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def bakeoff_results(tmp_path_factory):
    """``produce(**flavour) -> folder``: a bake-off run on the fakes with scripted outcomes
    (tests/unit/bakeoff_fixture.py), run once per flavour in the session and shared."""
    from bakeoff_fixture import fake_answer_config, keep_checker, produce
    from ragtune.rag.ingest import ingest

    root = tmp_path_factory.mktemp("bakeoffs")
    project = make_project(root / "project", answer=fake_answer_config(), checker=keep_checker())
    ingest(project, [write_files(root / "docs", CORPUS) / "kb"])
    made: dict[tuple, Path] = {}

    def get(names: tuple[str, ...] | None = None, **flavour) -> Path:
        key = (names, tuple(sorted(flavour.items())))
        if key not in made:
            extra = {"names": names} if names else {}
            made[key] = produce(project, root / f"run{len(made)}", **extra, **flavour)
        return made[key]

    return get
