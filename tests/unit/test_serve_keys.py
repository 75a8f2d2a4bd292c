import json

from typer.testing import CliRunner

from ragtune.cli.app import app
from ragtune.serve.keys import KeyStore, digest

runner = CliRunner()


def test_keys_are_stored_hashed_and_revocable(tmp_path):
    store = KeyStore(tmp_path / "keys.json")
    record, token = store.create("ci", rate_limit_per_minute=30)
    assert token.startswith("rtk-") and len(token) > 40
    saved = (tmp_path / "keys.json").read_text()
    assert token not in saved and digest(token) in saved
    assert (tmp_path / "keys.json").stat().st_mode & 0o077 == 0
    assert store.verify(token).id == record.id and store.verify(token).rate_limit_per_minute == 30
    assert store.verify(token + "x") is None and store.verify("") is None
    # another process (the CLI) revokes it: this store notices the file changed
    KeyStore(tmp_path / "keys.json").revoke(record.id)
    assert store.verify(token) is None


def test_keys_cli(tmp_path):
    proj = str(tmp_path / "p")
    created = json.loads(runner.invoke(app, ["keys", "create", "--name", "bot", "-p", proj, "--json"]).stdout)
    assert created["name"] == "bot" and created["key"].startswith("rtk-")
    listed = json.loads(runner.invoke(app, ["keys", "list", "-p", proj, "--json"]).stdout)
    assert [k["id"] for k in listed] == [created["id"]] and "key" not in listed[0] and listed[0]["revoked"] is None
    revoked = runner.invoke(app, ["keys", "revoke", created["id"], "-p", proj, "--json"])
    assert json.loads(revoked.stdout)["revoked"]
    bad = runner.invoke(app, ["keys", "revoke", "key_nope", "-p", proj])
    assert bad.exit_code != 0 and "no key 'key_nope'" in str(bad.exception)
