import json
import sqlite3

from typer.testing import CliRunner

from conftest import make_project
from ragtune.cli.app import app
from ragtune.serve.keys import KeyStore, Scope, digest
from ragtune.serve.state import open_state
from ragtune.serve.state_sql import connect

runner = CliRunner()


def test_keys_are_stored_hashed_and_revocable(tmp_path):
    store = KeyStore(connect("sqlite:///state.db", tmp_path))
    record, token = store.create("ci", rate_limit_per_minute=30)
    assert token.startswith("rtk-") and len(token) > 40
    saved = [tuple(r) for r in sqlite3.connect(tmp_path / "state.db").execute("select * from api_keys")]
    assert len(saved) == 1 and digest(token) in saved[0] and not any(token in str(v) for v in saved[0])
    assert (tmp_path / "state.db").stat().st_mode & 0o077 == 0
    assert store.verify(token).id == record.id and store.verify(token).rate_limit_per_minute == 30
    assert store.verify(token + "x") is None and store.verify("") is None
    # another process (the CLI, another replica) revokes it: this store sees it at the next request
    KeyStore(connect("sqlite:///state.db", tmp_path)).revoke(record.id)
    assert store.verify(token) is None


def test_keys_cli(tmp_path):
    proj = str(tmp_path / "p")
    created = json.loads(runner.invoke(app, ["keys", "create", "--name", "bot", "-p", proj, "--json"]).stdout)
    assert created["name"] == "bot" and created["key"].startswith("rtk-")
    listed = json.loads(runner.invoke(app, ["keys", "list", "-p", proj, "--json"]).stdout)
    assert [k["id"] for k in listed] == [created["id"]] and "key" not in listed[0] and listed[0]["revoked"] is None
    revoked = runner.invoke(app, ["keys", "revoke", created["id"], "-p", proj, "--json"])
    assert json.loads(revoked.stdout)["revoked"]
    again = runner.invoke(app, ["keys", "revoke", created["id"], "-p", proj, "--json"])  # stays as first revoked
    assert json.loads(again.stdout)["revoked"] == json.loads(revoked.stdout)["revoked"]
    bad = runner.invoke(app, ["keys", "revoke", "key_nope", "-p", proj])
    assert bad.exit_code != 0 and "no key 'key_nope'" in str(bad.exception)


def test_the_keys_of_a_keys_json_are_taken_over_whole_and_the_file_kept(tmp_path):
    project = make_project(tmp_path / "p")
    written = [{"id": "key_00000001", "name": "old", "sha256": digest("rtk-old"), "created": 1.0, "revoked": None,
                "rate_limit_per_minute": None},  # from before scopes: no scopes, no burst
               {"id": "key_00000002", "name": "bot", "sha256": digest("rtk-bot"), "created": 2.0, "revoked": None,
                "rate_limit_per_minute": 30.0, "scopes": ["chat", "admin"], "burst": 4},
               {"id": "key_00000003", "name": "gone", "sha256": digest("rtk-gone"), "created": 3.0, "revoked": 5.0,
                "rate_limit_per_minute": None, "scopes": ["chat"], "burst": None}]
    text = json.dumps({"version": 2, "keys": written}, indent=2)
    (project.root / "keys.json").write_text(text)
    store = KeyStore(open_state(project))
    assert [k.to_dict() for k in store.list()] == [{"scopes": None, "burst": None, **written[0]}, *written[1:]]
    assert store.verify("rtk-old").granted == (Scope.chat, Scope.ingest)
    assert store.verify("rtk-bot").granted == (Scope.chat, Scope.admin) and store.verify("rtk-gone") is None
    assert not (project.root / "keys.json").exists()
    assert (project.root / "keys.json.imported").read_text() == text
    # opened again (another process): nothing doubled
    assert len(KeyStore(open_state(project)).list()) == 3


def test_a_damaged_keys_json_stops_with_a_clear_error(tmp_path):
    proj = tmp_path / "p"
    make_project(proj)
    (proj / "keys.json").write_text("{not json")
    r = runner.invoke(app, ["keys", "list", "-p", str(proj)])
    assert r.exit_code != 0 and "keys.json is damaged" in str(r.exception)
    assert (proj / "keys.json").read_text() == "{not json"
