"""A key's rate limit holds including bursts: a token bucket of a stated size, checked through the API on an
injected clock (no sleeping). The repro: a key created with --rate-limit 5 let a burst of 20 through."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ragtune.cli.app import app as cli
from ragtune.serve.app import create_app

runner = CliRunner()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def served(project, *args: str) -> tuple[TestClient, Clock]:
    r = runner.invoke(cli, ["keys", "create", "-p", str(project.root), "--json", *args])
    assert r.exit_code == 0, r.output
    clock = Clock()
    client = TestClient(create_app(project.root, clock=clock),
                        headers={"Authorization": f"Bearer {json.loads(r.stdout)['key']}"})
    return client, clock


def statuses(client, n: int) -> list[int]:
    return [client.get("/v1/models").status_code for _ in range(n)]


def test_a_burst_of_twenty_gets_only_the_default_burst(project):
    client, clock = served(project, "--rate-limit", "5")
    # 5 per minute: the default burst is the per-second rate rounded up, at least 1
    assert statuses(client, 20) == [200] + [429] * 19
    r = client.get("/v1/models")
    assert r.status_code == 429 and r.headers["retry-after"] == "12"  # one request every 60/5 s
    assert "5 requests per minute" in r.json()["error"]["message"]
    clock.now += 12
    assert statuses(client, 2) == [200, 429]
    clock.now += 60  # a minute's pause refills only up to the burst
    assert statuses(client, 3) == [200, 429, 429]


def test_a_stated_burst_then_the_steady_rate(project):
    client, clock = served(project, "--rate-limit", "5", "--burst", "3")
    assert statuses(client, 20) == [200] * 3 + [429] * 17
    clock.now += 6  # half a request refilled
    r = client.get("/v1/models")
    assert r.status_code == 429 and r.headers["retry-after"] == "6"
    clock.now += 6
    assert statuses(client, 2) == [200, 429]
    # within any minute after the burst: at most 5 more
    sent = []
    for _ in range(60):
        clock.now += 1
        sent += statuses(client, 1)
    assert sent.count(200) == 5


def test_burst_is_shown_and_validated(project):
    r = runner.invoke(cli, ["keys", "create", "-p", str(project.root), "--json", "--rate-limit", "30", "--burst", "4"])
    assert json.loads(r.stdout)["burst"] == 4
    listed = json.loads(runner.invoke(cli, ["keys", "list", "-p", str(project.root), "--json"]).stdout)
    assert listed[0]["burst"] == 4 and listed[0]["rate_limit_per_minute"] == 30
    bad = runner.invoke(cli, ["keys", "create", "-p", str(project.root), "--burst", "0"])
    assert bad.exit_code == 2 and "--burst" in bad.output


def test_the_server_default_burst_follows_the_per_second_rate(project):
    data = json.loads(project.config_path.read_text())
    data["serve"]["rate_limit_per_minute"] = 120  # 2 per second: burst 2
    data["serve"].pop("rate_limit_burst", None)
    project.config_path.write_text(json.dumps(data))
    client, clock = served(project)
    assert statuses(client, 5) == [200, 200, 429, 429, 429]
    clock.now += 0.5
    assert statuses(client, 2) == [200, 429]
