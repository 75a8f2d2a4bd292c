"""What a server keeps between requests: API keys, rate-limit buckets, and the interaction and feedback log.
One database holds it all, named by serve.state_url (else $RAGTUNE_STATE_URL, else the project's
interactions.db in SQLite); replicas that share a Postgres share keys, limits and one log."""

from __future__ import annotations

import contextlib
import os
from typing import Protocol

from filelock import FileLock

from ragtune.serve.interactions import InteractionLog, log_path
from ragtune.serve.keys import KeyStore, KeyTable, read_legacy_keys
from ragtune.serve.rate_limit import RateBuckets
from ragtune.serve.state_sql import connect

ENV = "RAGTUNE_STATE_URL"


class ServeState(KeyTable, RateBuckets, InteractionLog, Protocol):
    """Keys, rate limits and the interaction log, in one place every replica reaches."""


def default_url(project) -> str:
    """The project's own SQLite file."""
    return f"sqlite:///{log_path(project)}"


def state_url(project) -> str:
    """The state's URL: serve.state_url, else $RAGTUNE_STATE_URL, else the project's own SQLite file."""
    return project.config.serve.state_url or os.environ.get(ENV) or default_url(project)


def open_state(project) -> ServeState:
    """The project's state, with the keys of a keys.json from an earlier ragtune taken over: copied in (a key
    already there is left as it is), then the file renamed keys.json.imported, kept as it was."""
    state = connect(state_url(project), project.root)
    legacy = project.root / "keys.json"
    if legacy.exists():
        with FileLock(str(legacy.with_suffix(".lock")), timeout=30):
            for record in read_legacy_keys(legacy):
                state.add_key(record)
            with contextlib.suppress(FileNotFoundError):  # another process took them over first
                legacy.replace(legacy.with_name("keys.json.imported"))
    return state


def key_store(project) -> KeyStore:
    return KeyStore(open_state(project))
