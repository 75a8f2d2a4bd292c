"""Search, documents and jobs pages in Chromium: a search with a filter, an upload then found by search, a
job's page with its loss curve; each page checked by axe-core."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright", reason="browser tests need Playwright: pip install -e '.[dev]'")

from playwright.sync_api import expect

from browser.conftest import axe_violations, sign_in
from ragtune.finetune.jobs import job_store


def test_search_with_a_filter(page, served, shot):
    sign_in(page, served)
    page.get_by_role("link", name="Search").click()
    page.get_by_label("Query").fill("webhooks retry failed deliveries")
    page.get_by_label("Mode").select_option("hybrid")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#results tbody tr")
    expect(rows.first.locator(".doc-id")).to_contain_text("kb/webhooks.md")
    expect(page.locator("#results thead")).to_contain_text("dense")
    expect(page.locator("#results thead")).to_contain_text("bm25")
    shot("unfiltered")
    page.get_by_label("Filters").fill("doc_id!=kb/webhooks.md")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results")).not_to_contain_text("kb/webhooks.md")
    expect(rows.first).to_be_visible()
    shot("filtered")
    assert axe_violations(page) == []


def test_upload_then_find_by_search(page, served, shot):
    sign_in(page, served, "ingest")
    page.get_by_role("link", name="Documents").click()
    page.get_by_label("Files to add").set_input_files([
        {"name": "plans.md", "mimeType": "text/markdown",
         "buffer": b"# Plans\n\nThe Business plan includes single sign-on and audit logs."},
        {"name": "tool.exe", "mimeType": "application/octet-stream", "buffer": b"MZ"}])
    page.get_by_role("button", name="Upload and index").click()
    expect(page.get_by_role("status")).to_contain_text("1 added")
    expect(page.get_by_role("alert")).to_have_text("skipped tool.exe: unsupported file type '.exe'")
    expect(page.locator("#documents")).to_contain_text("plans.md")
    shot("uploaded")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Search").click()
    page.get_by_label("Query").fill("single sign-on audit logs")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results tbody tr").first.locator(".doc-id")).to_contain_text("plans.md")
    shot("found")


def test_a_jobs_page(page, served, shot):
    store = job_store(served.project.root)
    job = store.create("tiny-base", "/data/train.jsonl", "0" * 64, None, None, {}, "local")
    store.update(job.id, status="succeeded")
    for step, loss in [(5, 2.4), (10, 1.9), (15, 1.6), (20, 1.5)]:
        store.log_step(job.id, step, loss=loss)
    sign_in(page, served)
    page.get_by_role("link", name="Jobs").click()
    page.get_by_role("link", name=job.id).click()
    expect(page.get_by_role("heading", name=f"Job {job.id}")).to_be_visible()
    expect(page.locator(".status")).to_have_text("succeeded")
    expect(page.get_by_role("img", name="Loss from step 5 to 20")).to_be_visible()
    expect(page.locator("polyline[data-series='training loss']")).to_have_count(1)
    page.get_by_text("4 logged steps").click()
    expect(page.locator("#live table")).to_contain_text("1.9")
    shot("job")
    assert axe_violations(page) == []


def test_reports_page_without_a_bakeoff(page, served):
    sign_in(page, served)
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports")).to_be_visible()
    assert axe_violations(page) == []


@pytest.mark.parametrize("path", ["/search", "/documents", "/jobs", "/reports"])
def test_every_page_fits_a_phone(page, served, shot, path):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, served, "ingest")
    page.goto(served.url + path)
    expect(page.locator("h1")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    shot("390px")
    assert axe_violations(page) == []
