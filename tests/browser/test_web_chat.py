"""The chat page in Chromium: sign in, ask, watch the answer stream in, open a citation, rate an answer with a
correction and find it in the fine-tuning export; keyboard use, two widths, and axe-core's accessibility rules."""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("playwright", reason="browser tests need Playwright: pip install -e '.[dev]'")

from playwright.sync_api import expect

from browser.conftest import axe_violations, sign_in
from ragtune.serve.export import export_finetune
from ragtune.serve.state import open_state

QUESTION = "How many times do webhooks retry failed deliveries?"
WEBHOOKS = "Webhooks retry failed deliveries eight times with exponential backoff."


def test_nothing_is_shown_before_signing_in(page, served, shot):
    page.goto(served.url + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("navigation")).to_have_count(0)
    page.get_by_label("API key").fill("rtk-not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    expect(page.locator("#conversation")).to_have_count(0)
    shot("refused")
    assert axe_violations(page) == []


def test_ask_stream_cite_and_correct(page, served, shot, tmp_path):
    sign_in(page, served)
    # every change of the answer's text is recorded, to see how it arrives
    page.evaluate("""() => { window.seen = [];
        new MutationObserver(() => { const a = document.querySelector('.answer');
            if (a) window.seen.push(a.textContent); })
          .observe(document.getElementById('conversation'), {subtree: true, childList: true, characterData: true}); }""")
    page.get_by_label("Variant").select_option("rag")
    page.get_by_label("Your question").fill(QUESTION)
    page.get_by_role("button", name="Ask").click()
    answer = page.locator(".turn .answer").last
    expect(answer).to_have_text(re.compile(re.escape(WEBHOOKS) + r" \[\d\]"))
    # a grounded answer is sent once checked against its citations (a sent piece cannot be taken back): whole
    seen = page.evaluate("window.seen")
    # no partial text ever shows (the observer also fires, with the text unchanged, as the citations are added)
    assert {t for t in seen if t} == {answer.text_content()}, seen
    assert int(answer.get_attribute("data-deltas")) == 1
    expect(page.locator(".turn .meta")).to_have_text("· rag (chosen)")
    shot("answered")

    citation = page.locator(".citations details").first
    expect(citation.locator("summary")).to_contain_text("[")
    expect(citation.locator(".doc")).to_be_hidden()
    citation.locator("summary").click()
    expect(citation.locator(".doc")).to_have_text("kb/webhooks.md")
    expect(citation.locator(".src")).to_contain_text("webhooks.md")
    expect(citation.locator("blockquote.passage")).to_have_text(WEBHOOKS)
    shot("citation")

    feedback = page.locator(".turn .feedback").last
    feedback.get_by_label("Corrected answer (optional)").fill("Eight times, with exponential backoff.")
    feedback.get_by_role("button", name="Thumbs down").click()
    expect(feedback.get_by_role("status")).to_have_text("Saved: thumbs down with your corrected answer.")
    shot("rated")

    report = export_finetune(open_state(served.project), tmp_path / "ft.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "ft.jsonl").read_text().splitlines()]
    assert report.corrected >= 1
    assert any(line["messages"][-1] == {"role": "assistant", "content": "Eight times, with exponential backoff."}
               and QUESTION in line["messages"][-2]["content"] for line in lines)
    assert axe_violations(page) == []


def test_keyboard_only(page, served, shot):
    page.goto(served.url + "/")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.keyboard.press("Tab")
    expect(page.get_by_label("API key")).to_be_focused()
    page.keyboard.type(served.keys["chat"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Chat")).to_be_visible()
    page.get_by_label("Your question").focus()
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")  # Enter asks; Shift+Enter is a new line
    expect(page.locator(".turn .answer").last).to_contain_text(WEBHOOKS)
    summary = page.locator(".citations summary").first
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".citations blockquote.passage").first).to_have_text(WEBHOOKS)
    shot("keyboard")


@pytest.mark.parametrize("width", [1280, 390])
def test_readable_at_laptop_and_phone_widths(page, served, shot, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, served)
    page.get_by_label("Your question").fill(QUESTION)
    page.get_by_role("button", name="Ask").click()
    expect(page.locator(".turn .answer").last).to_contain_text(WEBHOOKS)
    page.locator(".citations summary").first.click()
    expect(page.locator(".citations blockquote.passage").first).to_be_visible()
    # nothing wider than the window: no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(f"{width}px")
    assert axe_violations(page) == []


def test_a_follow_up_is_asked_with_the_conversation(page, served, shot):
    sign_in(page, served)
    page.get_by_label("Variant").select_option("rag")
    page.get_by_label("Your question").fill(QUESTION)
    page.get_by_role("button", name="Ask").click()
    expect(page.locator(".turn .answer").first).to_contain_text(WEBHOOKS)
    page.get_by_label("Your question").fill("and what is their backoff?")
    page.get_by_role("button", name="Ask").click()
    second = page.locator(".turn").nth(1)
    expect(second.locator(".asked")).to_have_text(f"Searched for: {QUESTION} and what is their backoff?")
    expect(second.locator(".citations .title").first).to_have_text("Webhooks")
    shot("follow-up")
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator(".turn")).to_have_count(0)
