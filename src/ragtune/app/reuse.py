"""Reusing a finished fine-tuning job: training again on the same data, base and settings would only spend
minutes to hours reproducing it. The demo bake-off loop and the mini-wiki benchmark share this one rule."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ragtune.finetune.jobs import Job, list_jobs, sha256_file


def finished_job(project_root: Path, train: Path, base: str,
                 settings: Mapping[str, object] | None = None) -> Job | None:
    """The newest succeeded job of this project that trained ``base`` on exactly the bytes of ``train``
    (by SHA-256, so a moved copy counts and an edited file does not) with every given training setting;
    None when there is none."""
    sha = sha256_file(train)
    wanted = dict(settings or {})
    done = [j for j in list_jobs(project_root)
            if j.status == "succeeded" and j.train_sha256 == sha and j.base == base
            and all(j.config.get(k) == v for k, v in wanted.items())]
    return done[-1] if done else None
