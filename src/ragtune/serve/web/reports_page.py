"""The project's reports: each folder in the project holding a bake-off's results.json, with its bake-off report
(rendered from the results as `ragtune bakeoff` renders report.html, plots inline) and, once `ragtune report`
ran there, its decision report (decision.html as written: re-rendering it would need the answers it was made
with)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse

from ragtune.bakeoff.report import html
from ragtune.bakeoff.results import RESULTS_FILE, read_results
from ragtune.errors import RagtuneError
from ragtune.serve.caller import Caller
from ragtune.serve.keys import Scope
from ragtune.serve.web.render import Authenticate, PageError, page_caller, render

KINDS = {"bakeoff": (RESULTS_FILE, "Bake-off report"), "decision": ("decision.html", "Decision report")}
# the reports are ragtune's own static HTML (no scripts): allow their inline styles and SVG, nothing else
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@dataclass(frozen=True)
class Report:
    folder: str
    kinds: list[tuple[str, str]]
    """(kind, title) of the reports written in it."""


def find(root: Path) -> list[Report]:
    """The project's folders (one level down) with a bake-off's results in them, by name."""
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and (p / RESULTS_FILE).is_file()):
        kinds = [(kind, title) for kind, (name, title) in KINDS.items() if (folder / name).is_file()]
        found.append(Report(folder.name, kinds))
    return found


def _report_file(root: Path, folder: str, kind: str) -> Path:
    """The report file asked for, only among the listed ones (no path from the request reaches the disk)."""
    for report in find(root):
        if report.folder == folder and kind in dict(report.kinds):
            return root / report.folder / KINDS[kind][0]
    raise PageError(404, f"no {kind} report in {folder!r}: run 'ragtune bakeoff --out' into a folder of the "
                         "project (and 'ragtune report --bakeoff' on it for the decision)")


def _rendered(path: Path, kind: str) -> str:
    if kind == "bakeoff":
        try:
            return html(read_results(path.parent))
        except RagtuneError as e:  # a results.json of another version or shape: say which
            raise PageError(400, str(e)) from None
    return path.read_text(encoding="utf-8")


def install(app: FastAPI, authenticate: Authenticate) -> None:
    chat_page = Depends(page_caller(authenticate, Scope.chat))

    @app.get("/reports", include_in_schema=False)
    async def reports_page(request: Request, who: Caller = chat_page):
        found = await anyio.to_thread.run_sync(find, who.project.root)
        return render(request, "reports.html", reports=found, signed_in=True)

    @app.get("/reports/{folder}/{kind}", include_in_schema=False)
    async def report_page(request: Request, folder: str, kind: str, who: Caller = chat_page):
        await anyio.to_thread.run_sync(_report_file, who.project.root, folder, kind)
        return render(request, "report.html", folder=folder, kind=kind, title=KINDS[kind][1], signed_in=True)

    @app.get("/reports/{folder}/{kind}/file", include_in_schema=False)
    async def report_file(folder: str, kind: str, who: Caller = chat_page):
        path = await anyio.to_thread.run_sync(_report_file, who.project.root, folder, kind)
        page = await anyio.to_thread.run_sync(_rendered, path, kind)
        return HTMLResponse(page, headers={"Content-Security-Policy": REPORT_CSP})
