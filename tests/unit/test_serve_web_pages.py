"""The web page's search, documents, jobs and reports routes (TestClient, fakes): each needs a key and its
scope, and shows what the API and the CLI would, in their words."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from conftest import write_files
from ragtune.finetune.jobs import job_dir, job_store
from ragtune.serve.app import create_app
from ragtune.serve.caller import WEB_HEADER
from ragtune.serve.keys import Scope
from ragtune.serve.state import key_store
from ragtune.serve.web.loss_curve import HEIGHT, PAD, WIDTH, curve

HX = {WEB_HEADER: "1", "HX-Request": "true"}
PAGES = ["/search", "/documents", "/jobs", "/reports"]


@pytest.fixture
def web(indexed):
    """(project, a client factory: signed in with a key of the given scopes)."""
    project, _ = indexed
    app = create_app(project.root)

    def client(*scopes: Scope) -> TestClient:
        c = TestClient(app)
        if scopes:
            _, key = key_store(project).create("t", scopes=list(scopes))
            assert c.post("/sign-in", data={"key": key}, follow_redirects=False).status_code == 303
        return c
    return project, client


@pytest.mark.parametrize("path", PAGES)
def test_every_page_needs_a_key_then_shows(web, path):
    _, client = web
    r = client().get(path)
    assert r.status_code == 401 and "<h1>Sign in</h1>" in r.text
    r = client(Scope.chat).get(path)
    assert r.status_code == 200 and 'aria-current="page"' in r.text


@pytest.mark.parametrize("call", [("post", "/ui/search", {"query": "x"}), ("post", "/ui/documents/delete", {"doc_id": "x"}),
                                  ("get", "/ui/jobs/x/live", None), ("post", "/ui/jobs/x/cancel", None)])
def test_fragments_need_a_key(web, call):
    _, client = web
    method, path, data = call
    r = getattr(client(), method)(path, data=data, headers=HX) if data else getattr(client(), method)(path, headers=HX)
    assert r.status_code == 401 and r.headers["HX-Refresh"] == "true"


def test_search_shows_each_retrievers_score_and_applies_filters(web):
    _, client = web
    c = client(Scope.chat)
    r = c.post("/ui/search", headers=HX, data={"query": "webhooks retry deliveries", "mode": "hybrid", "k": "2"})
    assert r.status_code == 200
    assert ">bm25</th>" in r.text and ">dense</th>" in r.text and ">rrf</th>" in r.text
    assert r.text.count("<tr>") - 1 == 2 and r.text.index("kb/webhooks.md") < r.text.index("</tbody>")
    r = c.post("/ui/search", headers=HX, data={"query": "webhooks retry deliveries", "mode": "bm25",
                                               "filters": "doc_id!=kb/webhooks.md"})
    assert "kb/webhooks.md" not in r.text and ">dense</th>" not in r.text
    r = c.post("/ui/search", headers=HX, data={"query": "webhooks", "filters": "nonsense"})
    assert r.status_code == 400 and "cannot parse filter" in r.text


def test_the_api_search_carries_each_retrievers_score(web):
    project, _ = web
    _, key = key_store(project).create("api", scopes=[Scope.chat])
    r = TestClient(create_app(project.root)).post("/v1/search", json={"query": "webhooks retry", "mode": "hybrid"},
                                                  headers={"Authorization": f"Bearer {key}"})
    top = r.json()["data"][0]
    assert top["doc_id"] == "kb/webhooks.md" and set(top["scores"]) == {"dense", "bm25", "rrf"}
    assert top["scores"]["rrf"] == top["score"]


def test_upload_needs_the_ingest_scope(web):
    _, client = web
    r = client(Scope.chat).post("/ui/documents/upload", headers=HX, files=[("files", ("a.md", b"# A\n\nText.", "text/markdown"))])
    assert r.status_code == 403 and "lacks the ingest scope" in r.text
    assert "Upload and index" not in client(Scope.chat).get("/documents").text
    assert "Upload and index" in client(Scope.ingest, Scope.chat).get("/documents").text


def test_upload_indexes_a_file_and_skips_others_in_the_clis_words(web):
    project, client = web
    c = client(Scope.chat, Scope.ingest)
    r = c.post("/ui/documents/upload", headers=HX, files=[
        ("files", ("plans.md", b"# Plans\n\nThe Business plan includes single sign-on.", "text/markdown")),
        ("files", ("tool.exe", b"MZ", "application/octet-stream")),
        ("files", ("empty.txt", b"", "text/plain"))])
    assert r.status_code == 200, r.text
    assert "1 added" in r.text and "skipped tool.exe: unsupported file type &#39;.exe&#39;" in r.text
    assert "skipped empty.txt: " in r.text
    state = project.store.documents()["plans.md"]
    assert state.complete and state.source == "api:plans.md"
    hits = c.post("/ui/search", headers=HX, data={"query": "single sign-on Business plan"}).text
    assert hits.index("plans.md") < hits.index("</tbody>")


def test_an_upload_over_the_body_limit_is_refused_with_the_servers_message(web):
    project, client = web
    c = client(Scope.chat, Scope.ingest)
    big = b"word " * (project.config.serve.max_body_bytes // 5 + 1)
    r = c.post("/ui/documents/upload", headers=HX, files=[("files", ("big.txt", big, "text/plain"))])
    assert r.status_code == 413 and "serve.max_body_bytes" in r.json()["error"]["message"]
    assert "big.txt" not in project.store.documents()


def test_an_upload_may_not_replace_a_files_document(web, tmp_path):
    from ragtune.rag.ingest import ingest

    project, client = web
    ingest(project, [write_files(tmp_path / "more", {"notes.md": "# Notes\n\nFrom a file."}) / "notes.md"])
    c = client(Scope.ingest, Scope.chat)
    r = c.post("/ui/documents/upload", headers=HX, files=[("files", ("notes.md", b"# N\n\nReplaced.", "text/markdown"))])
    assert r.status_code == 409 and "came from files" in r.text
    assert project.store.documents()["notes.md"].source.endswith("notes.md")
    # a browser's path is dropped: the name alone is the id
    r = c.post("/ui/documents/upload", headers=HX, files=[("files", ("kb/webhooks.md", b"# W\n\nMine.", "text/markdown"))])
    assert r.status_code == 200 and project.store.documents()["webhooks.md"].source == "api:webhooks.md"


def test_delete_removes_an_uploaded_document_and_protects_files_documents(web):
    project, client = web
    c = client(Scope.chat, Scope.ingest)
    c.post("/ui/documents/upload", headers=HX, files=[("files", ("plans.md", b"# P\n\nBusiness plan.", "text/markdown"))])
    listing = c.get("/documents").text
    assert 'aria-label="Delete plans.md"' in listing and 'aria-label="Delete kb/webhooks.md"' not in listing
    assert 'aria-label="Delete kb/webhooks.md"' in client(Scope.admin).get("/documents").text
    r = c.post("/ui/documents/delete", headers=HX, data={"doc_id": "plans.md"})
    assert r.status_code == 200 and "Deleted plans.md" in r.text and "plans.md" not in project.store.documents()
    assert "plans.md" not in c.post("/ui/search", headers=HX, data={"query": "Business plan", "mode": "bm25"}).text
    r = c.post("/ui/documents/delete", headers=HX, data={"doc_id": "kb/webhooks.md"})
    assert r.status_code == 403 and "admin scope" in r.text and "kb/webhooks.md" in project.store.documents()
    r = c.post("/ui/documents/delete", headers=HX, data={"doc_id": "nope"})
    assert r.status_code == 404
    r = client(Scope.admin).post("/ui/documents/delete", headers=HX, data={"doc_id": "kb/webhooks.md"})
    assert r.status_code == 200 and "kb/webhooks.md" not in project.store.documents()


def test_delete_without_the_header_is_refused(web):
    project, client = web
    r = client(Scope.admin).post("/ui/documents/delete", data={"doc_id": "kb/webhooks.md"})
    assert r.status_code == 401 and "kb/webhooks.md" in project.store.documents()


@pytest.fixture
def job(web):
    project, _ = web
    store = job_store(project.root)
    j = store.create("tiny-base", "/data/train.jsonl", "0" * 64, None, None, {}, "local")
    store.update(j.id, status="running")
    for step, loss in [(10, 2.0), (20, 1.5), (30, 1.0)]:
        store.log_step(j.id, step, loss=loss)
    store.log_step(j.id, 30, eval_loss=1.25)
    (job_dir(project.root, j.id)).mkdir(parents=True, exist_ok=True)
    (job_dir(project.root, j.id) / "train.log").write_text("epoch 1 done\n")
    return j


def test_job_page_shows_status_curve_steps_and_log(web, job):
    _, client = web
    c = client(Scope.chat)
    assert f'href="/jobs/{job.id}"' in c.get("/jobs").text
    r = c.get(f"/jobs/{job.id}")
    assert r.status_code == 200 and ">running</strong>" in r.text and "epoch 1 done" in r.text
    assert 'points="40.0,40.0 300.0,120.0 560.0,200.0 "' in r.text  # losses 2.0, 1.5, 1.0 over steps 10-30
    assert 'hx-trigger="every 3s"' in r.text and "Cancel job" not in r.text  # cancelling needs admin
    assert c.get("/jobs/nope").status_code == 404


def test_cancel_needs_admin_and_asks_the_job_to_stop(web, job):
    project, client = web
    assert client(Scope.chat).post(f"/ui/jobs/{job.id}/cancel", headers=HX).status_code == 403
    admin = client(Scope.admin)
    assert "Cancel job" in admin.get(f"/jobs/{job.id}").text
    r = admin.post(f"/ui/jobs/{job.id}/cancel", headers=HX)
    assert r.status_code == 200 and "Cancel requested" in r.text
    assert job_store(project.root).get(job.id).cancel_requested


def test_a_finished_job_stops_refreshing(web, job):
    project, client = web
    job_store(project.root).update(job.id, status="succeeded")
    r = client(Scope.chat).get(f"/ui/jobs/{job.id}/live")
    assert ">succeeded</strong>" in r.text and "hx-trigger" not in r.text


def test_loss_curve_known_coordinates():
    c = curve([{"step": 0, "loss": 4.0, "eval_loss": None}, {"step": 50, "loss": 3.0, "eval_loss": 2.0},
               {"step": 100, "loss": None, "eval_loss": 1.0}])
    train, val = c.lines
    # steps 0..100 over x 40..560, losses 1..4 over y 200..40 (higher loss higher up)
    assert train.points == [(PAD, PAD), (300.0, 93.3)]
    assert val.points == [(300.0, 146.7), (WIDTH - PAD, HEIGHT - PAD)]
    assert c.steps == (0, 100) and c.losses == (1.0, 4.0)
    assert curve([{"step": 1, "loss": None, "eval_loss": None}]) is None
    flat = curve([{"step": 5, "loss": 1.0}])
    assert flat.lines[0].points == [(PAD, HEIGHT - PAD)]


def test_reports_lists_and_shows_the_projects_bakeoff_and_decision(web, bakeoff_results):
    import shutil

    project, client = web
    c = client(Scope.chat)
    assert "No bake-off in this project yet" in c.get("/reports").text
    shutil.copytree(bakeoff_results(), project.root / "bakeoff")
    (project.root / "bakeoff" / "decision.html").write_text("<html><body><h1>Decision</h1></body></html>")
    listing = c.get("/reports").text
    assert 'href="/reports/bakeoff/bakeoff"' in listing and 'href="/reports/bakeoff/decision"' in listing
    page = c.get("/reports/bakeoff/bakeoff")
    assert page.status_code == 200 and 'src="/reports/bakeoff/bakeoff/file"' in page.text
    report = c.get("/reports/bakeoff/bakeoff/file")
    assert report.status_code == 200 and "<svg" in report.text
    assert report.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "<h1>Decision</h1>" in c.get("/reports/bakeoff/decision/file").text
    assert c.get("/reports/bakeoff/other/file").status_code == 404
    assert c.get("/reports/..%2F..%2Fetc/bakeoff/file").status_code == 404
