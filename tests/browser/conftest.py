"""The web page in a real browser: a ragtune server on the fakes in a thread of this process, driven by
pytest-playwright through the system's Chromium (Playwright cannot download its own here). Without Chromium
or Playwright these tests are skipped with a one-line reason; .ci/run installs Chromium with apt when it can."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import CORPUS, make_project, write_files
from ragtune.config import ComponentSpec
from ragtune.generation.fake import ScriptedGenerator
from ragtune.generation.protocol import GENERATORS, Completion, Message
from ragtune.project import Project
from ragtune.serve.keys import Scope
from ragtune.serve.state import key_store

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("RAGTUNE_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "browser"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
CHROMIUM = next((p for p in (os.environ.get("RAGTUNE_CHROMIUM"), shutil.which("chromium"),
                             shutil.which("chromium-browser"), shutil.which("google-chrome")) if p), None)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)


@GENERATORS.register("scripted-stream")
@dataclass
class StreamingScripted(ScriptedGenerator):
    """The scripted generator, streamed a word at a time with a pause between words, so the page receives the
    answer in several network reads, as from a real model."""

    pause_s: float = 0.02
    streams: list[list[Message]] = field(default_factory=list, init=False, repr=False)

    def stream(self, messages, max_tokens=256, temperature=0.0, stop=None) -> Iterator[Completion]:
        self.streams.append(list(messages))
        whole = self.generate(messages, max_tokens=max_tokens, temperature=temperature, stop=stop)
        words = whole.text.split(" ")
        for i, word in enumerate(words):
            time.sleep(self.pause_s)
            yield Completion(word if i == len(words) - 1 else word + " ", whole.prompt_tokens if i == 0 else 0,
                             1 if word else 0)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if CHROMIUM is None:
        pytest.skip("browser tests need Chromium: apt-get install chromium (or set RAGTUNE_CHROMIUM)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@dataclass
class Served:
    url: str
    project: Project
    keys: dict[str, str]
    """API keys by name: chat (chat only), ingest (chat and ingest)."""


@pytest.fixture(scope="session")
def served(tmp_path_factory) -> Iterator[Served]:
    import uvicorn

    from ragtune.rag.ingest import ingest
    from ragtune.serve.app import create_app

    root = tmp_path_factory.mktemp("web")
    project = make_project(root / "proj", generator=ComponentSpec(type="scripted-stream"))
    ingest(project, [write_files(root / "docs", CORPUS) / "kb"])
    store = key_store(project)
    keys = {"chat": store.create("chat", scopes=[Scope.chat])[1],
            "ingest": store.create("ingest", scopes=[Scope.chat, Scope.ingest])[1]}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(project.root), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30  # a liveness bound for the server's start, not a measurement
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield Served(f"http://127.0.0.1:{port}", project, keys)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def shot(page, request):
    """``shot(name)`` saves a full-page screenshot as a test artefact (test-artifacts/browser/)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return take


def axe_violations(page) -> list[dict]:
    """Serious and critical accessibility violations axe-core finds on the page as it stands."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => (await axe.run(document)).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))""")
    return [v for v in found if v["impact"] in ("serious", "critical")]


def sign_in(page, served: Served, key: str = "chat") -> None:
    page.goto(served.url + "/")
    page.get_by_label("API key").fill(served.keys[key])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Chat").wait_for()
