"""What the server stores about people (interactions.db: full prompts and answers, and the key digests) is
readable by their owner only, whatever the umask, and a world-readable log from an older version is tightened."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest
from fastapi.testclient import TestClient

from ragtune.serve.app import create_app
from ragtune.serve.interactions import log_path
from ragtune.serve.state import key_store


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def private(path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_interaction_log_and_keys_are_private(indexed, loose_umask):
    project, _ = indexed
    _, key = key_store(project).create("tests")
    client = TestClient(create_app(project.root), headers={"Authorization": f"Bearer {key}"})
    r = client.post("/v1/chat/completions", json={"model": "rag", "messages": [
        {"role": "user", "content": "How many times do webhooks retry failed deliveries?"}]})
    assert r.status_code == 200
    db = log_path(project)
    # the -wal and -shm files exist while a connection is open (the server closes each after use)
    with sqlite3.connect(db) as held:
        held.execute("select count(*) from interactions").fetchone()
        files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
        assert all(f.exists() for f in files)
        assert [f.name for f in files if not private(f)] == []


def test_an_older_world_readable_log_is_tightened(project, loose_umask):
    db = log_path(project)
    sqlite3.connect(db).close()
    os.chmod(db, 0o644)
    create_app(project.root)
    assert private(db)
