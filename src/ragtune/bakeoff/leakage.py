"""Evaluation questions must never have been trained on: a tuned model that saw them scores what it
memorised, not what it learned."""

from __future__ import annotations

from pathlib import Path

from ragtune.errors import RagtuneError
from ragtune.evaluation.answer_metrics import normalize
from ragtune.finetune.dataset import jaccard, read_chat_file
from ragtune.finetune.jobs import job_store
from ragtune.project import Project

NEAR = 0.9


def trained_questions(path: Path) -> list[str]:
    """The question of each example: the last user turn, after its passages when it has them."""
    out = []
    for e in read_chat_file(path).examples:
        user = next((m["content"] for m in reversed(e.messages) if m["role"] == "user"), "")
        out.append(user.rpartition("Question:")[2].strip() or user)
    return out


def overlapping(questions: list[str], seen: list[str]) -> list[str]:
    """The ``questions`` that are (nearly: word Jaccard >= NEAR) one of ``seen``."""
    exact = {normalize(q) for q in seen}
    words_seen = [set(normalize(q).split()) for q in seen]
    return [q for q in questions if normalize(q) in exact
            or any(jaccard(set(normalize(q).split()), w) >= NEAR for w in words_seen)]


def check_shots(shots: list[str], questions: list[str], source: Path) -> None:
    """Worked examples must not be evaluation questions: a variant shown the answer scores what it was shown."""
    leaks = overlapping(shots, questions)
    if leaks:
        shown = "\n".join(f"  - {q}" for q in leaks[:5])
        raise RagtuneError(f"{len(leaks)} few-shot example(s) in {source} are (nearly) evaluation questions, so "
                           f"the few-shot variants would be shown the answers:\n{shown}\nremove them from one "
                           "of the two files")


def check_leakage(questions: list[str], training_files: list[Path]) -> dict:
    """Raise when an evaluation question is (nearly) a training question; else report what was checked."""
    seen = [q for f in training_files for q in trained_questions(f)]
    leaks = overlapping(questions, seen)
    if leaks:
        shown = "\n".join(f"  - {q}" for q in leaks[:5])
        raise RagtuneError(f"{len(leaks)} evaluation question(s) appear in the fine-tuning data "
                           f"({', '.join(map(str, training_files))}), so the tuned model's scores would be "
                           f"memorisation:\n{shown}\nremove them from the training data or from the question set")
    return {"checked_files": [str(f) for f in training_files], "training_questions": len(seen), "overlaps": 0}


def check_tuned_models(project: Project, ft_models: list[str], questions: list[str]) -> dict:
    """``check_leakage`` against the training file of each job behind ``ft_models`` (ft:<job-id>), which must
    still exist: a tuned model whose data cannot be checked is not evaluated. Each file is checked on its own,
    so an error names the one that leaks."""
    files: list[Path] = []
    for ft_model in ft_models:
        job = job_store(project.root).get(ft_model)
        if not Path(job.train_file).is_file():
            raise RagtuneError(f"cannot check {ft_model} for leakage: its training file {job.train_file} is gone")
        files.append(Path(job.train_file))
    files = list(dict.fromkeys(files))
    checked = [check_leakage(questions, [f]) for f in files]
    return {"checked_files": [str(f) for f in files], "training_questions": sum(c["training_questions"] for c in checked),
            "overlaps": 0}
