"""API keys: shown once when created, stored only as SHA-256 digests in the project's keys.json. A plain
digest suffices (no slow password hash) because keys are 256 random bits, not guessable words. The server
re-reads the file when it changes, so a revoked key stops working without a restart.

Each key carries scopes: ``chat`` (chat, search, models, embeddings, feedback), ``ingest`` (POST /v1/ingest)
and ``admin`` (everything, and replacing a document that came from a file). A key written before scopes
existed has none recorded and reads as ``chat`` + ``ingest``: what it could do then, less replacing files'
documents, which now needs ``admin``."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

from filelock import FileLock

from ragtune.errors import RagtuneError

PREFIX = "rtk-"
VERSION = 2  # 2: keys carry scopes and a burst


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
    """None in a record written before scopes existed (kept so, on every rewrite): see ``granted``."""
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


class KeyStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self._by_digest: dict[str, KeyRecord] = {}

    def _read(self) -> list[KeyRecord]:
        if not self.path.exists():
            return []
        try:
            return [KeyRecord(**k) for k in json.loads(self.path.read_text())["keys"]]
        except (ValueError, KeyError, TypeError) as e:
            raise RagtuneError(f"{self.path} is damaged ({e}); restore it or delete it and create new keys") from e

    def _write(self, keys: list[KeyRecord]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        # created private: the digests are never readable by others, not even between write and chmod
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(json.dumps({"version": VERSION, "keys": [k.to_dict() for k in keys]}, indent=2))
        tmp.replace(self.path)

    def _lock(self) -> FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.path.with_suffix(".lock")), timeout=10)

    def create(self, name: str, rate_limit_per_minute: float | None = None, burst: int | None = None,
               scopes: Iterable[Scope] = DEFAULT_SCOPES) -> tuple[KeyRecord, str]:
        """A new key: its record, and the token itself, which is not stored anywhere."""
        if rate_limit_per_minute is not None and rate_limit_per_minute <= 0:
            raise RagtuneError("--rate-limit must be above 0")
        if burst is not None and burst < 1:
            raise RagtuneError("--burst must be at least 1")
        scopes = sorted({Scope(s) for s in scopes}, key=list(Scope).index)
        if not scopes:
            raise RagtuneError("a key needs at least one scope (--scope chat, ingest or admin)")
        token = PREFIX + secrets.token_urlsafe(32)
        with self._lock():
            keys = self._read()
            taken = {k.id for k in keys}
            key_id = "key_" + secrets.token_hex(4)
            while key_id in taken:
                key_id = "key_" + secrets.token_hex(4)
            record = KeyRecord(key_id, name, digest(token), time.time(), None, rate_limit_per_minute, scopes, burst)
            self._write([*keys, record])
        return record, token

    def list(self) -> list[KeyRecord]:
        return self._read()

    def revoke(self, key_id: str) -> KeyRecord:
        with self._lock():
            keys = self._read()
            for k in keys:
                if k.id == key_id:
                    if k.revoked is None:
                        k.revoked = time.time()
                        self._write(keys)
                    return k
        raise RagtuneError(f"no key {key_id!r}; see 'ragtune keys list'")

    def verify(self, token: str) -> KeyRecord | None:
        """The live key this token is, or None; re-reads the file only when it changed."""
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._by_digest = {k.sha256: k for k in self._read()}
            self._stamp = stamp
        record = self._by_digest.get(digest(token))
        return record if record is not None and record.revoked is None else None


def key_store(project) -> KeyStore:
    return KeyStore(project.root / "keys.json")
