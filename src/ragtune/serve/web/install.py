"""Everything the web page adds to the app: its static files, its pages, and how a page shows a refusal."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ragtune.serve.web import documents_page, jobs_page, pages, reports_page, search_page
from ragtune.serve.web.render import Authenticate, install_handlers


def install(app: FastAPI, authenticate: Authenticate) -> None:
    # no key needed: the page's code, style and htmx hold no project data
    app.mount("/static", StaticFiles(directory=str(files("ragtune.serve.web") / "static")), name="static")
    install_handlers(app)
    for module in (pages, search_page, documents_page, jobs_page, reports_page):
        module.install(app, authenticate)
