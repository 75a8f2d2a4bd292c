"""API keys: shown once when created, stored only as SHA-256 digests in the project's keys.json. A plain
digest suffices (no slow password hash) because keys are 256 random bits, not guessable words. The server
re-reads the file when it changes, so a revoked key stops working without a restart."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from filelock import FileLock

from ragtune.errors import RagtuneError

PREFIX = "rtk-"


@dataclass
class KeyRecord:
    id: str
    name: str
    sha256: str
    created: float
    revoked: float | None = None
    rate_limit_per_minute: float | None = None
    """Overrides serve.rate_limit_per_minute for this key."""


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
        tmp.write_text(json.dumps({"keys": [asdict(k) for k in keys]}, indent=2))
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)

    def _lock(self) -> FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.path.with_suffix(".lock")), timeout=10)

    def create(self, name: str, rate_limit_per_minute: float | None = None) -> tuple[KeyRecord, str]:
        """A new key: its record, and the token itself, which is not stored anywhere."""
        if rate_limit_per_minute is not None and rate_limit_per_minute <= 0:
            raise RagtuneError("--rate-limit must be above 0")
        token = PREFIX + secrets.token_urlsafe(32)
        with self._lock():
            keys = self._read()
            taken = {k.id for k in keys}
            key_id = "key_" + secrets.token_hex(4)
            while key_id in taken:
                key_id = "key_" + secrets.token_hex(4)
            record = KeyRecord(key_id, name, digest(token), time.time(), None, rate_limit_per_minute)
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
