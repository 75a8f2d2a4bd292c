"""Reusing a finished fine-tuning job: training again on the same data, base and settings would only spend
minutes to hours reproducing it. The demo bake-off loop and the mini-wiki benchmark share this one rule."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from ragtune.finetune.jobs import Job, JobStore


def finished_job(project_root: Path, train: Path, base: str,
                 settings: Mapping[str, object] | None = None) -> Job | None:
    """The newest succeeded job of this project that trained ``base`` on exactly the bytes of ``train``
    (by SHA-256, so a moved copy counts and an edited file does not) with every given training setting;
    None when there is none."""
    db = Path(project_root) / "jobs.db"
    if not db.exists():
        return None
    sha = hashlib.sha256(train.read_bytes()).hexdigest()
    wanted = dict(settings or {})
    done = [j for j in JobStore(db).list()
            if j.status == "succeeded" and j.train_sha256 == sha and j.base == base
            and all(j.config.get(k) == v for k, v in wanted.items())]
    return done[-1] if done else None
