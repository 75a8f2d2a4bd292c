"""API keys: shown once when created, stored only as SHA-256 digests in the serve state (serve.state_url). A
plain digest suffices (no slow password hash) because keys are 256 random bits, not guessable words. Every
request looks its key up there, so a key revoked through any replica stops working on all of them at once.

Each key carries scopes: ``chat`` (chat, search, models, embeddings, feedback), ``ingest`` (POST /v1/ingest)
and ``admin`` (everything, and replacing a document that came from a file). A key written before scopes
existed has none recorded and reads as ``chat`` + ``ingest``: what it could do then, less replacing files'
documents, which now needs ``admin``.

Keys used to live in the project's keys.json: ``read_legacy_keys`` reads that file so the state can take its
keys over (see state.open_state)."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import Protocol

from ragtune.errors import RagtuneError

PREFIX = "rtk-"
ID_TRIES = 8


class Scope(str, Enum):
    chat = "chat"
    ingest = "ingest"
    admin = "admin"


DEFAULT_SCOPES = (Scope.chat,)
LEGACY_SCOPES = (Scope.chat, Scope.ingest)


def grants(scopes, scope: Scope) -> bool:
    """Whether holding ``scopes`` allows ``scope``: admin allows everything."""
    return scope in scopes or Scope.admin in scopes


@dataclass
class KeyRecord:
    id: str
    name: str
    sha256: str
    created: float
    revoked: float | None = None
    rate_limit_per_minute: float | None = None
    """Overrides serve.rate_limit_per_minute for this key."""
    scopes: list[Scope] | None = None
    """None in a record written before scopes existed (kept so): see ``granted``."""
    burst: int | None = None
    """Requests the key may send at once (None: the per-second rate of its limit, rounded up, at least 1)."""

    def __post_init__(self):
        if self.scopes is not None:
            self.scopes = [Scope(s) for s in self.scopes]

    @property
    def granted(self) -> tuple[Scope, ...]:
        return LEGACY_SCOPES if self.scopes is None else tuple(self.scopes)

    def to_dict(self) -> dict:
        return {**asdict(self), "scopes": None if self.scopes is None else [s.value for s in self.scopes]}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_key(name: str, rate_limit_per_minute: float | None = None, burst: int | None = None,
            scopes: Iterable[Scope] = DEFAULT_SCOPES) -> tuple[KeyRecord, str]:
    """A new key: its record (to store), and the token itself, which is not stored anywhere."""
    if rate_limit_per_minute is not None and rate_limit_per_minute <= 0:
        raise RagtuneError("--rate-limit must be above 0")
    if burst is not None and burst < 1:
        raise RagtuneError("--burst must be at least 1")
    ordered = sorted({Scope(s) for s in scopes}, key=list(Scope).index)
    if not ordered:
        raise RagtuneError("a key needs at least one scope (--scope chat, ingest or admin)")
    token = PREFIX + secrets.token_urlsafe(32)
    record = KeyRecord("key_" + secrets.token_hex(4), name, digest(token), time.time(), None,
                       rate_limit_per_minute, ordered, burst)
    return record, token


def read_legacy_keys(path: Path) -> list[KeyRecord]:
    """The keys in a keys.json written by an earlier ragtune (none when there is no such file)."""
    if not path.exists():
        return []
    try:
        return [KeyRecord(**k) for k in json.loads(path.read_text())["keys"]]
    except (ValueError, KeyError, TypeError) as e:
        raise RagtuneError(f"{path} is damaged ({e}); restore it or delete it and create new keys") from e


class KeyTable(Protocol):
    """Where key records are kept (the serve state)."""

    def add_key(self, record: KeyRecord) -> bool:
        """Store a new key; False (nothing stored) when its id is taken."""
        ...

    def keys(self) -> list[KeyRecord]:
        """Every key, revoked ones included, oldest first."""
        ...

    def key(self, sha256: str) -> KeyRecord | None:
        """The key with this digest, revoked or not."""
        ...

    def revoke_key(self, key_id: str, when: float) -> KeyRecord | None:
        """Mark the key revoked at ``when`` unless it already is; None when there is no such key."""
        ...


class KeyStore:
    """Creating, listing, revoking and checking keys, over the table that keeps them."""

    def __init__(self, table: KeyTable):
        self.table = table

    def create(self, name: str, rate_limit_per_minute: float | None = None, burst: int | None = None,
               scopes: Iterable[Scope] = DEFAULT_SCOPES) -> tuple[KeyRecord, str]:
        """A new key: its record, and the token itself, which is not stored anywhere."""
        for _ in range(ID_TRIES):  # a fresh random id until one is free (32 bits: a retry is already rare)
            record, token = new_key(name, rate_limit_per_minute, burst, scopes)
            if self.table.add_key(record):
                return record, token
        raise RagtuneError(f"no free key id in {ID_TRIES} tries; is the key table readable and writable?")

    def list(self) -> list[KeyRecord]:
        return self.table.keys()

    def revoke(self, key_id: str) -> KeyRecord:
        record = self.table.revoke_key(key_id, time.time())
        if record is None:
            raise RagtuneError(f"no key {key_id!r}; see 'ragtune keys list'")
        return record

    def verify(self, token: str) -> KeyRecord | None:
        """The live key this token is, or None."""
        record = self.table.key(digest(token))
        return record if record is not None and record.revoked is None else None
