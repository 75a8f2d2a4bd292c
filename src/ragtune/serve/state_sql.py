"""The serve state in SQL through SQLAlchemy Core: SQLite (the project's interactions.db, the default) or a
Postgres that several replicas share. Every change is one statement or one transaction, so replicas never
lose each other's writes: a key is inserted once by its id, a rate-limit bucket is spent by one UPSERT
that reads and writes its row atomically, an interaction is inserted once by its id."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    Double,
    Engine,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import NullPool

from ragtune.errors import RagtuneError
from ragtune.serve.interactions import Interaction, make_private
from ragtune.serve.keys import KeyRecord
from ragtune.serve.rate_limit import Limit

_JSON_COLUMNS = ("chunk_ids", "citations", "request", "prompt")
_SCHEMA_LOCK = 0x72746E73  # a Postgres advisory lock id: replicas starting together create the tables once

metadata = MetaData()
api_keys = Table(
    "api_keys", metadata,
    Column("id", Text, primary_key=True), Column("name", Text, nullable=False),
    Column("sha256", Text, nullable=False, unique=True), Column("created", Double, nullable=False),
    Column("revoked", Double), Column("rate_limit_per_minute", Double),
    Column("scopes", Text),  # a JSON list; null for a key made before scopes existed
    Column("burst", Integer))
rate_buckets = Table(
    "rate_buckets", metadata,
    Column("bucket", Text, primary_key=True), Column("tokens", Double, nullable=False),
    Column("updated", Double, nullable=False), Column("granted", Boolean, nullable=False),
    Column("full_at", Double, nullable=False))  # by then the bucket is full again: the row can go
# interactions and feedback: the columns the interaction log has had since its first version, so an existing
# interactions.db is read and written in place
interactions = Table(
    "interactions", metadata,
    Column("id", Text, primary_key=True), Column("created", Double, nullable=False), Column("key_id", Text),
    Column("subject", Text), Column("variant", Text, nullable=False), Column("assigned", Integer, nullable=False),
    Column("stream", Integer, nullable=False), Column("status", Integer, nullable=False), Column("error", Text),
    Column("latency_ms", Double, nullable=False), Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False), Column("refused", Integer, nullable=False),
    Column("chunk_ids", Text, nullable=False), Column("citations", Text, nullable=False),
    Column("request", Text), Column("prompt", Text), Column("answer", Text),
    Index("interactions_created", "created"))
feedback = Table(
    "feedback", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True), Column("interaction_id", Text, nullable=False),
    Column("created", Double, nullable=False), Column("rating", Text, nullable=False), Column("corrected", Text),
    Index("feedback_interaction", "interaction_id"), sqlite_autoincrement=True)


def _key(row) -> KeyRecord:
    m = row._mapping
    return KeyRecord(m["id"], m["name"], m["sha256"], m["created"], m["revoked"], m["rate_limit_per_minute"],
                     None if m["scopes"] is None else json.loads(m["scopes"]), m["burst"])


class SqlState:
    """Keys, rate-limit buckets, interactions and feedback in one database (ServeState)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        # the dialects' INSERT, which has ON CONFLICT (both share its API)
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    # --- keys ---------------------------------------------------------------------------------------------
    def add_key(self, record: KeyRecord) -> bool:
        row = {**record.to_dict(), "scopes": None if record.scopes is None else json.dumps(record.to_dict()["scopes"])}
        with self.engine.begin() as db:
            stmt = self._insert(api_keys).values(row).on_conflict_do_nothing(index_elements=["id"])
            # RETURNING, not rowcount: psycopg's rowcount after an INSERT through SQLAlchemy can read -1
            return db.execute(stmt.returning(api_keys.c.id)).first() is not None

    def keys(self) -> list[KeyRecord]:
        with self.engine.connect() as db:
            return [_key(r) for r in db.execute(select(api_keys).order_by(api_keys.c.created, api_keys.c.id))]

    def key(self, sha256: str) -> KeyRecord | None:
        with self.engine.connect() as db:
            row = db.execute(select(api_keys).where(api_keys.c.sha256 == sha256)).first()
        return None if row is None else _key(row)

    def revoke_key(self, key_id: str, when: float) -> KeyRecord | None:
        with self.engine.begin() as db:
            db.execute(update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked.is_(None))
                       .values(revoked=when))
            row = db.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        return None if row is None else _key(row)

    # --- rate limits --------------------------------------------------------------------------------------
    def take(self, bucket: str, limit: Limit, now: float) -> float:
        rate, burst = limit.per_minute / 60.0, float(limit.burst)
        b, at = rate_buckets.c, literal(now, Double)
        # the UPDATE's right-hand sides all read the row as it was; a clock that stepped back refills nothing
        elapsed = case((at > b.updated, at - b.updated), else_=literal(0.0, Double))
        refilled = b.tokens + elapsed * literal(rate, Double)
        level = case((refilled > burst, literal(burst, Double)), else_=refilled)
        full_at = now + burst / rate
        fresh = self._insert(rate_buckets).values(bucket=bucket, tokens=burst - 1.0, updated=now, granted=True,
                                                  full_at=full_at)
        stmt = fresh.on_conflict_do_update(index_elements=["bucket"], set_={
            "tokens": case((level >= 1.0, level - 1.0), else_=level),
            "granted": level >= 1.0,
            "updated": case((at > b.updated, at), else_=b.updated),
            "full_at": full_at}).returning(b.tokens, b.granted)
        with self.engine.begin() as db:
            tokens, granted = db.execute(stmt).one()
        return 0.0 if granted else (1.0 - tokens) / rate

    # --- interactions and feedback ------------------------------------------------------------------------
    def record(self, it: Interaction, bodies: bool = True) -> None:
        row = asdict(it)
        for key in _JSON_COLUMNS:
            row[key] = None if row[key] is None else json.dumps(row[key])
        if not bodies:
            row.update(request=None, prompt=None, answer=None)
        with self.engine.begin() as db:
            db.execute(insert(interactions).values(row))

    def feedback(self, interaction_id: str, rating: str, corrected: str | None = None,
                 key_id: str | None = None) -> None:
        with self.engine.begin() as db:
            row = db.execute(select(interactions.c.key_id).where(interactions.c.id == interaction_id)).first()
            if row is None or (key_id is not None and row.key_id != key_id):
                raise RagtuneError(f"no interaction {interaction_id!r}")
            db.execute(insert(feedback).values(interaction_id=interaction_id, created=time.time(), rating=rating,
                                               corrected=corrected))

    def prune(self, retention_days: float | None, now: float | None = None) -> int:
        now = now if now is not None else time.time()
        with self.engine.begin() as db:
            db.execute(delete(rate_buckets).where(rate_buckets.c.full_at < now))
            if retention_days is None:
                return 0
            cutoff = now - retention_days * 86400
            old = select(interactions.c.id).where(interactions.c.created < cutoff)
            db.execute(delete(feedback).where(feedback.c.interaction_id.in_(old)))
            return db.execute(delete(interactions).where(interactions.c.created < cutoff)).rowcount

    def rows(self, since: float | None = None) -> list[dict]:
        f = feedback.alias("later")
        latest = select(func.max(f.c.seq)).where(f.c.interaction_id == interactions.c.id) \
            .correlate(interactions).scalar_subquery()
        query = (select(interactions, feedback.c.rating, feedback.c.corrected)
                 .select_from(interactions.outerjoin(feedback, feedback.c.seq == latest))
                 .where(interactions.c.created >= (since or 0.0))
                 .order_by(interactions.c.created, interactions.c.id))
        with self.engine.connect() as db:
            out = [dict(r._mapping) for r in db.execute(query)]
        for r in out:
            for key in _JSON_COLUMNS:
                r[key] = None if r[key] is None else json.loads(r[key])
            r["assigned"], r["stream"], r["refused"] = bool(r["assigned"]), bool(r["stream"]), bool(r["refused"])
        return out


def connect(url: str, root: Path) -> SqlState:
    """The state a URL names, its tables created if missing: ``sqlite:///path`` (relative paths from the
    project folder ``root``) or ``postgresql://user:password@host/db``. A URL that names no usable database
    is a RagtuneError saying why."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise RagtuneError(f"serve.state_url {url!r} is not a database URL; use sqlite:///path/to/file.db "
                           "or postgresql://user:password@host:5432/db") from None
    shown = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise RagtuneError(f"serve.state_url {shown!r} names no file; the state must outlive the process")
        path = Path(parsed.database)
        path = path if path.is_absolute() else root / path
        try:
            make_private(path)
        except OSError as e:
            raise RagtuneError(f"cannot open the serve state at {path}: {e}") from None
        engine = create_engine(parsed.set(database=str(path)), poolclass=NullPool, connect_args={"timeout": 30})
        # WAL: readers (reports, exports) never block the server's writes; synchronous=normal is durable
        # across a process kill, not an OS crash
        event.listen(engine, "connect", lambda conn, _: conn.execute("pragma synchronous=normal"))
    elif backend == "postgresql":
        # psycopg (3), whatever driver the URL names by default: it is the one ragtune's Postgres extra installs
        driver = parsed.set(drivername="postgresql+psycopg") if parsed.drivername in ("postgresql", "postgres") \
            else parsed
        try:
            engine = create_engine(driver, pool_pre_ping=True)
        except (NoSuchModuleError, ImportError) as e:
            raise RagtuneError(f"serve.state_url {shown!r}: no Postgres driver ({e}); "
                               "pip install 'ragtune[postgres]'") from None
    else:
        raise RagtuneError(f"serve.state_url {shown!r}: the serve state lives in SQLite (sqlite:///file.db) or "
                           "Postgres (postgresql://...)")
    try:
        with engine.begin() as db:
            if backend == "sqlite":
                db.exec_driver_sql("pragma journal_mode=wal")
            else:
                db.execute(text("select pg_advisory_xact_lock(:id)"), {"id": _SCHEMA_LOCK})
            metadata.create_all(db)
    except DBAPIError as e:
        engine.dispose()
        raise RagtuneError(f"cannot open the serve state at {shown}: {e.orig}") from None
    return SqlState(engine)
