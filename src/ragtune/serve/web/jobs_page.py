"""Tuning jobs: the list, and a job's status, loss curve, logged steps and log, redrawn while it runs; cancel
(admin scope) as `ragtune tune cancel` does. Everything through the jobs service (app/jobs.py)."""

from __future__ import annotations

from pathlib import Path

import anyio
from fastapi import Depends, FastAPI, Request

from ragtune.app.jobs import Jobs
from ragtune.errors import RagtuneError
from ragtune.finetune.jobs import job_dir
from ragtune.serve.caller import Caller
from ragtune.serve.keys import Scope
from ragtune.serve.web.loss_curve import curve
from ragtune.serve.web.render import Authenticate, PageError, page_caller, render

LOG_TAIL_CHARS = 20_000
LIVE = ("queued", "running")


def _log_tail(path: Path) -> str | None:
    """The end of a detached job's train.log (None when it has none)."""
    if not path.is_file():
        return None
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - LOG_TAIL_CHARS))
        return f.read().decode("utf-8", "replace")


def _job(root: Path, job_id: str) -> dict:
    jobs = Jobs(root)
    try:
        job, progress = jobs.status(job_id)
    except RagtuneError as e:
        raise PageError(404, str(e)) from None
    steps = jobs.steps(job_id)
    return {"job": job, "progress": progress, "steps": steps, "curve": curve(steps),
            "log": _log_tail(job_dir(root, job_id) / "train.log"), "live": job.shown_status in LIVE}


def install(app: FastAPI, authenticate: Authenticate) -> None:
    chat_page = Depends(page_caller(authenticate, Scope.chat))
    admin_page = Depends(page_caller(authenticate, Scope.admin))

    @app.get("/jobs", include_in_schema=False)
    async def jobs_page(request: Request, who: Caller = chat_page):
        jobs = await anyio.to_thread.run_sync(lambda: Jobs(who.project.root).list())
        return render(request, "jobs.html", jobs=jobs, signed_in=True)

    @app.get("/jobs/{job_id}", include_in_schema=False)
    async def job_page(request: Request, job_id: str, who: Caller = chat_page):
        found = await anyio.to_thread.run_sync(_job, who.project.root, job_id)
        return render(request, "job.html", **found, can_cancel=who.allows(Scope.admin), signed_in=True)

    @app.get("/ui/jobs/{job_id}/live", include_in_schema=False)
    async def live(request: Request, job_id: str, who: Caller = chat_page):
        found = await anyio.to_thread.run_sync(_job, who.project.root, job_id)
        return render(request, "job_live.html", **found, can_cancel=who.allows(Scope.admin))

    @app.post("/ui/jobs/{job_id}/cancel", include_in_schema=False)
    async def cancel(request: Request, job_id: str, who: Caller = admin_page):
        try:
            await anyio.to_thread.run_sync(lambda: Jobs(who.project.root).cancel(job_id))
        except RagtuneError as e:
            raise PageError(409, str(e)) from None
        found = await anyio.to_thread.run_sync(_job, who.project.root, job_id)
        return render(request, "job_live.html", **found, can_cancel=True, cancelled=True)
