"""Where the serve state lives: serve.state_url, else $RAGTUNE_STATE_URL, else the project's interactions.db (an
existing one read in place); a URL that names no usable database stops `ragtune serve` and the key and log
commands at once with exit 2, before anything is served or stored."""

from __future__ import annotations

import json
import sqlite3

import pytest

from conftest import make_project, run_main
from ragtune.serve.interactions import Interaction
from ragtune.serve.state import ENV, open_state, state_url

# interactions.db as the interaction log wrote it before keys and rate limits moved in
OLD_SCHEMA = """
create table interactions (
  id text primary key, created real not null, key_id text, subject text, variant text not null,
  assigned integer not null, stream integer not null, status integer not null, error text,
  latency_ms real not null, prompt_tokens integer not null, completion_tokens integer not null,
  refused integer not null, chunk_ids text not null, citations text not null,
  request text, prompt text, answer text);
create index interactions_created on interactions (created);
create table feedback (
  seq integer primary key autoincrement, interaction_id text not null, created real not null,
  rating text not null, corrected text);
create index feedback_interaction on feedback (interaction_id);
insert into interactions values ('chatcmpl-old', 100.0, 'key_1', 's', 'rag', 1, 0, 200, null, 12.5, 30, 5, 0,
  '["c1"]', '[]', '[{"role": "user", "content": "q"}]', '[{"role": "user", "content": "p"}]', 'the answer');
insert into feedback (interaction_id, created, rating, corrected) values ('chatcmpl-old', 101.0, 'down', null);
insert into feedback (interaction_id, created, rating, corrected) values ('chatcmpl-old', 102.0, 'up', 'better');
"""


def test_the_url_comes_from_the_config_then_the_environment_then_the_project(tmp_path, monkeypatch):
    project = make_project(tmp_path / "p")
    monkeypatch.delenv(ENV, raising=False)
    assert state_url(project) == f"sqlite:///{project.root / 'interactions.db'}"
    monkeypatch.setenv(ENV, "sqlite:///from-env.db")
    assert state_url(project) == "sqlite:///from-env.db"
    project.config.serve.state_url = "sqlite:///from-config.db"
    assert state_url(project) == "sqlite:///from-config.db"
    open_state(project).record(Interaction("chatcmpl-1", "rag", True, 1.0))
    assert (project.root / "from-config.db").exists()  # relative to the project folder
    assert not (project.root / "from-env.db").exists()


def test_an_existing_interaction_log_is_read_and_extended_in_place(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    project = make_project(tmp_path / "p")
    with sqlite3.connect(project.root / "interactions.db") as db:
        db.executescript(OLD_SCHEMA)
    state = open_state(project)
    [old] = state.rows()
    assert old == {"id": "chatcmpl-old", "created": 100.0, "key_id": "key_1", "subject": "s", "variant": "rag",
                   "assigned": True, "stream": False, "status": 200, "error": None, "latency_ms": 12.5,
                   "prompt_tokens": 30, "completion_tokens": 5, "refused": False, "chunk_ids": ["c1"],
                   "citations": [], "request": [{"role": "user", "content": "q"}],
                   "prompt": [{"role": "user", "content": "p"}], "answer": "the answer", "rating": "up",
                   "corrected": "better"}
    state.record(Interaction("chatcmpl-new", "base", False, 2.0, created=200.0))
    state.feedback("chatcmpl-new", "down")
    assert [(r["id"], r["rating"]) for r in state.rows()] == [("chatcmpl-old", "up"), ("chatcmpl-new", "down")]


def test_an_interaction_is_logged_once(tmp_path):
    state = open_state(make_project(tmp_path / "p"))
    state.record(Interaction("chatcmpl-1", "rag", True, 1.0))
    with pytest.raises(Exception, match="UNIQUE"):
        state.record(Interaction("chatcmpl-1", "rag", True, 1.0))
    assert [r["id"] for r in state.rows()] == ["chatcmpl-1"]


@pytest.mark.parametrize(("url", "says"), [
    ("postgresql://nobody@127.0.0.1:1/ragtune", "cannot open the serve state at postgresql://nobody@127.0.0.1:1"),
    ("postgresql://nobody:secret@127.0.0.1:1/ragtune", "postgresql://nobody:***@127.0.0.1:1/ragtune"),
    ("mysql://u@host/db", "lives in SQLite (sqlite:///file.db) or Postgres"),
    ("not a url", "is not a database URL"),
    ("sqlite://", "names no file"),
    ("sqlite:///missing-folder-is-a-file/x.db", "cannot open the serve state"),
])
def test_a_bad_state_url_stops_the_server_with_exit_2(tmp_path, monkeypatch, capsys, url, says):
    project = make_project(tmp_path / "p")
    (project.root / "missing-folder-is-a-file").write_text("")
    monkeypatch.setenv(ENV, url)
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("served despite a bad state URL"))
    code, _, err = run_main(monkeypatch, capsys, "serve", "--no-warm", "-p", project.root)
    assert code == 2 and says in err and "secret" not in err
    code, _, err = run_main(monkeypatch, capsys, "keys", "list", "-p", project.root)
    assert code == 2 and says in err
    assert json.loads(project.config_path.read_text())["serve"]["state_url"] is None
