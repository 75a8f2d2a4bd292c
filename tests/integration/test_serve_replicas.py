"""Two `ragtune serve` processes, each on its own copy of the project, sharing nothing but one Postgres (pgserver)
named by $RAGTUNE_STATE_URL: a key created for one works on the other and revoked there stops on both, a
client's rate limit holds across both, and concurrent requests to both are each logged exactly once (and
rated and exported through either). On the fakes; marked integration because it starts a Postgres server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from conftest import make_project
from ragtune.cli.app import app as cli
from ragtune.serve.state import ENV
from ragtune.serve.state_sql import connect

pytestmark = pytest.mark.integration
runner = CliRunner()
CHAT = {"model": "base", "messages": [{"role": "user", "content": "Say something about parrots."}]}


@pytest.fixture(scope="module")
def postgres():
    pgserver = pytest.importorskip("pgserver", reason="pgserver (a Postgres in one wheel) is not installed: "
                                                      "pip install 'ragtune[pgvector]'")
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install 'ragtune[postgres]'")
    folder = tempfile.mkdtemp(prefix="rtst")  # short: the server's unix socket lives in it (107-byte cap)
    server = pgserver.get_server(folder, cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(root: Path, url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ragtune.cli.app", "serve", "-p", str(root), "--port", str(port),
                             "--no-warm"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1", ENV: url})
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120  # a liveness bound, not a measurement
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read()}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start in 120 s")


@pytest.fixture(scope="module")
def replicas(postgres, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("replicas")
    roots = [make_project(tmp / name).root for name in ("a", "b")]
    procs, urls = zip(*(start(root, postgres) for root in roots), strict=True)
    yield roots, urls, postgres
    for p in procs:
        p.terminate()
        p.wait(timeout=30)


def keys(*args: str, root: Path, url: str) -> dict:
    r = runner.invoke(cli, ["keys", *args, "-p", str(root), "--json"], env={ENV: url})
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def chat(base: str, token: str) -> httpx.Response:
    return httpx.post(f"{base}/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {token}"},
                      timeout=60)


def test_a_key_created_for_one_replica_works_on_the_other_and_is_revoked_on_both(replicas):
    (a, _), (url_a, url_b), pg = replicas
    created = keys("create", "--name", "app", root=a, url=pg)
    assert chat(url_b, created["key"]).status_code == 200
    assert chat(url_a, created["key"]).status_code == 200
    keys("revoke", created["id"], root=a, url=pg)
    assert [chat(u, created["key"]).status_code for u in (url_a, url_b)] == [401, 401]


def test_a_rate_limit_holds_across_both_replicas(replicas):
    (a, _), urls, pg = replicas
    # one request per 10 minutes after a burst of 4: nothing refills while the test runs
    token = keys("create", "--rate-limit", "0.1", "--burst", "4", root=a, url=pg)["key"]
    statuses = [chat(urls[i % 2], token).status_code for i in range(8)]
    assert statuses == [200] * 4 + [429] * 4
    r = chat(urls[1], token)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_concurrent_requests_to_both_are_logged_exactly_once(replicas):
    (a, b), urls, pg = replicas
    token = keys("create", "--rate-limit", "1000000", "--burst", "1000", root=b, url=pg)["key"]
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda i: chat(urls[i % 2], token), range(40)))
    assert [r.status_code for r in responses] == [200] * 40
    ids = [r.json()["id"] for r in responses]
    logged = [row["id"] for row in connect(pg, a).rows() if row["id"] in set(ids)]
    assert sorted(logged) == sorted(ids) and len(set(ids)) == 40
    # rated through the replica that did not answer it, then exported from the shared log by the CLI
    feedback = httpx.post(f"{urls[1]}/v1/feedback", json={"interaction_id": ids[0], "rating": "up"},
                          headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert feedback.status_code == 200, feedback.text
    out = a.parent / "approved.jsonl"
    r = runner.invoke(cli, ["logs", "export", "--finetune", str(out), "-p", str(a), "--json"], env={ENV: pg})
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["examples"] == 1
    line = json.loads(out.read_text())
    assert line["messages"][-1]["content"] == responses[0].json()["choices"][0]["message"]["content"]
