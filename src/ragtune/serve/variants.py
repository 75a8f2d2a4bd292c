"""The models a client can name: ``base`` (the project's generator alone), ``rag`` (it, answering from the
index with citations), ``ft:<job-id>`` and ``ft+rag:<job-id>`` (a fine-tuned model without and with
retrieval), and the configured remote models."""

from __future__ import annotations

from dataclasses import dataclass

from ragtune.app.jobs import Jobs
from ragtune.config import ComponentSpec
from ragtune.errors import RagtuneError
from ragtune.project import Project
from ragtune.rag.prompts import SYSTEM


@dataclass(frozen=True)
class Variant:
    name: str
    generator: ComponentSpec
    rag: bool
    """Retrieve, answer under the grounded prompt, and cite; otherwise the client's messages go to the model."""
    system: str | None
    """The rules: the grounded prompt's (a tuned model gets the one it was trained with); None leaves a
    pass-through conversation as the client sent it."""
    owned_by: str = "ragtune"


def resolve(project: Project, name: str) -> Variant:
    """The variant called ``name``; a RagtuneError says why it cannot answer (unknown, or a job not usable)."""
    cfg = project.config
    if name in ("base", "rag"):
        return Variant(name, cfg.generator, name == "rag", SYSTEM if name == "rag" else None)
    for prefix, rag in (("ft+rag:", True), ("ft:", False)):
        if name.startswith(prefix) and len(name) > len(prefix):
            from ragtune.finetune.registry import trained_system_prompt, tuned_model_spec

            job = name[len(prefix):]
            trained = trained_system_prompt(project, job)
            return Variant(name, tuned_model_spec(project, job), rag, (trained or SYSTEM) if rag else trained)
    if name in cfg.serve.remotes:
        remote = cfg.serve.remotes[name]
        return Variant(name, remote.generator, remote.rag, SYSTEM if remote.rag else None, owned_by="remote")
    raise RagtuneError(f"unknown model {name!r}; see GET /v1/models")


def available(project: Project) -> list[Variant]:
    """Every variant that can answer now: base, rag, both forms of each succeeded fine-tuning job, remotes."""
    names = ["base", "rag"]
    for job in Jobs(project.root).list():
        if job.status == "succeeded":
            names += [f"ft:{job.id}", f"ft+rag:{job.id}"]
    names += list(project.config.serve.remotes)
    out = []
    for name in names:
        try:
            out.append(resolve(project, name))
        except RagtuneError:  # e.g. a succeeded job whose adapter folder was deleted: not offered
            continue
    return out


def check_weights(project: Project) -> None:
    """The A/B weights must name variants that resolve and give some traffic; checked before a config is used."""
    weights = project.config.serve.variants
    if not any(w > 0 for w in weights.values()):
        raise RagtuneError("serve.variants needs at least one variant with a weight above 0")
    for name in weights:
        resolve(project, name)
