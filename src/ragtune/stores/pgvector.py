"""Postgres with pgvector: a ``postgresql://`` DSN at scale (replication and sharding are Postgres's
own: streaming replicas, Citus), or an embedded Postgres in a folder through ``pgserver``, which
ships the server and the pgvector extension as one pip package (what the tests use).

Keyword search runs in Postgres too: each row keeps its indexed text as a ``tsvector`` (Snowball's
English stemmer and stop words, as ragtune's BM25) under a GIN index, and a keyword query is ranked by
BM25 in SQL from the matching rows' term frequencies, so no BM25 index is held beside the database.
Postgres's own ``ts_rank`` ignores how rare a word is; BM25 weighs it, as ragtune's BM25 does."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np

from ragtune.documents.types import RESERVED_SUFFIX, Chunk
from ragtune.errors import RagtuneError
from ragtune.stores.filters import RANGE_OPS, Condition, date_ordinal, is_date
from ragtune.stores.keywords import K1, KEYWORD_SEARCH, B
from ragtune.stores.protocol import STORES, DocState, Page, StoreBase
from ragtune.stores.records import doc_states, to_chunk, to_metadata, to_page


def _literal(value) -> str:
    return json.dumps(value, ensure_ascii=False)  # JSON literals are jsonpath literals


def _array(value) -> np.ndarray:
    # pgvector's loader gives a numpy array for text results and a Vector for binary ones
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.float32)


def to_sql(conditions: Sequence[Condition]) -> tuple[str, list[str]]:
    """A WHERE clause of jsonpath tests on the ``meta`` column (a GIN index serves ``@?``), and its
    parameters. jsonpath compares strictly by type, so a range never matches a text value."""
    parts, params = [], []
    for c in conditions:
        if c.op in RANGE_OPS:
            key, value = (c.key + RESERVED_SUFFIX, date_ordinal(c.value)) if is_date(c.value) else (c.key, c.value)
            test = f"@ {c.op} {_literal(value)}"
        else:
            key = c.key
            test = " || ".join(f"@ == {_literal(v)}" for v in c.alternatives())
        params.append(f"$.{_literal(key)} ? ({test})")
        # a chunk without the key matches !=, as in Chroma
        parts.append("NOT (meta @? %s::jsonpath)" if c.op == "!=" else "meta @? %s::jsonpath")
    return " AND ".join(parts) or "TRUE", params


LANGUAGE = "english"  # the text search configuration
# one lexeme as a tsquery literal, quotes and backslashes in it doubled: no word reads as an operator
_QUOTED = r"'''' || replace(replace(l, '\', '\\'), '''', '''''') || ''''"


def _tokens(tsv: str) -> str:
    """SQL for the number of (non-stop-word) tokens a tsvector was made from: BM25's document length."""
    return f"(SELECT coalesce(sum(array_length(positions, 1)), 0) FROM unnest({tsv}))::integer"


@KEYWORD_SEARCH.register("pgvector")
@STORES.register("pgvector")
@dataclass
class PgvectorStore(StoreBase):
    """pgvector behind the VectorStore protocol. Unfiltered queries use the HNSW index; filtered ones
    rank every matching row exactly, because pgvector 0.6's HNSW filters after its candidate list
    and would return fewer than k for a selective filter. Keyword queries rank by BM25 in SQL."""

    dsn: str = ""
    """postgresql://user@host:5432/db; empty for an embedded server in ``path``."""
    path: str = "pgdata"
    """Embedded server's data folder, relative to the project folder unless absolute."""
    table: str = "chunks"
    """Table name."""
    batch_size: int = 500
    """Rows per insert statement batch."""
    _conn: Any = field(default=None, init=False, repr=False)
    _ready: bool = field(default=False, init=False, repr=False)  # the table exists
    _root: Path | None = field(default=None, init=False, repr=False)  # the folder, once bound to a project
    _server: Any = field(default=None, init=False, repr=False)  # the embedded server, when there is no dsn

    def __post_init__(self):
        if not self.table.replace("_", "").isalnum():  # it is spliced into SQL
            raise RagtuneError(f"pgvector table name {self.table!r} must be letters, digits and _")

    def bind(self, root: Path) -> Self:
        p = Path(self.path)
        self._root = p if p.is_absolute() else Path(root) / p
        return self

    def warm_up(self) -> None:
        self.conn  # noqa: B018  (the property connects)

    @property
    def conn(self):
        if self._conn is None:
            import psycopg
            from pgvector.psycopg import register_vector

            dsn = self.dsn
            if not dsn:
                import pgserver

                folder = Path(self._root or self.path)
                folder.mkdir(parents=True, exist_ok=True)
                self._server = pgserver.get_server(folder)  # stopped when the last user exits
                dsn = self._server.get_uri()
            self._conn = psycopg.connect(dsn, autocommit=True)
            self._conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            register_vector(self._conn)
        return self._conn

    def _exists(self) -> bool:
        # asked again while absent: another process (an ingest beside a server) may create it
        if not self._ready and self.conn.execute("SELECT to_regclass(%s)", (self.table,)).fetchone()[0] is not None:
            self._add_keywords()
            self._ready = True
        return self._ready

    def _create(self, dim: int) -> None:
        t = self.table
        with self.conn.transaction():
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS {t} (id text PRIMARY KEY, doc_id text NOT NULL, "
                              f"text text NOT NULL, meta jsonb NOT NULL, embedding vector({dim}) NOT NULL)")
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS {t}_doc ON {t} (doc_id)")
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS {t}_meta ON {t} USING gin (meta jsonb_path_ops)")
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS {t}_hnsw ON {t} USING hnsw (embedding vector_cosine_ops)")
            self._add_keywords()
        self._ready = True

    def _add_keywords(self) -> None:
        """The keyword columns and their GIN index. A table written before keyword search existed gets
        them filled in from its own rows, once."""
        t = self.table
        if self.conn.execute("SELECT 1 FROM information_schema.columns WHERE table_name = %s AND column_name = 'kw'",
                             (t,)).fetchone():
            return
        indexed = "CASE WHEN coalesce(meta->>'title', '') = '' THEN text ELSE (meta->>'title') || E'\\n' || text END"
        with self.conn.transaction():
            self.conn.execute(f"ALTER TABLE {t} ADD COLUMN kw tsvector, ADD COLUMN kw_len integer")
            self.conn.execute(f"UPDATE {t} SET kw = to_tsvector('{LANGUAGE}', {indexed})")
            self.conn.execute(f"UPDATE {t} SET kw_len = {_tokens('kw')}")
            self.conn.execute(f"ALTER TABLE {t} ALTER COLUMN kw SET NOT NULL, ALTER COLUMN kw_len SET NOT NULL")
            self.conn.execute(f"CREATE INDEX {t}_kw ON {t} USING gin (kw)")

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray, doc_hashes: dict[str, str],
               doc_chunks: dict[str, int] | None = None) -> None:
        from psycopg.types.json import Jsonb

        if not chunks:
            return
        if not self._exists():
            self._create(int(vectors.shape[1]))
        metas = to_metadata(chunks, doc_hashes, doc_chunks)
        rows = [(c.chunk_id, c.doc_id, c.text, Jsonb(m), np.asarray(v, dtype=np.float32), c.indexed_text)
                for c, m, v in zip(chunks, metas, vectors, strict=True)]
        sql = (f"INSERT INTO {self.table} (id, doc_id, text, meta, embedding, kw, kw_len) "
               f"SELECT %s::text, %s::text, %s::text, %s::jsonb, %s::vector, v, {_tokens('v')} "
               f"FROM to_tsvector('{LANGUAGE}', %s::text) v "
               "ON CONFLICT (id) DO UPDATE SET doc_id = EXCLUDED.doc_id, text = EXCLUDED.text, "
               "meta = EXCLUDED.meta, embedding = EXCLUDED.embedding, kw = EXCLUDED.kw, kw_len = EXCLUDED.kw_len")
        with self.conn.cursor() as cur:
            for i in range(0, len(rows), self.batch_size):
                with self.conn.transaction():
                    cur.executemany(sql, rows[i:i + self.batch_size])

    def delete(self, doc_ids: Sequence[str]) -> None:
        if doc_ids and self._exists():
            self.conn.execute(f"DELETE FROM {self.table} WHERE doc_id = ANY(%s)", (list(doc_ids),))

    def query(self, vector: np.ndarray, k: int, where: Sequence[Condition] = ()) -> list[tuple[str, float]]:
        if not self._exists():
            return []
        clause, params = to_sql(where)
        q = np.asarray(vector, dtype=np.float32)
        sql = (f"SELECT id, 1 - (embedding <=> %s) FROM {self.table} WHERE {clause} "
               "ORDER BY embedding <=> %s LIMIT %s")
        with self.conn.transaction():
            if where:
                self.conn.execute("SET LOCAL enable_indexscan = off")  # exact ranking of the filtered rows
            else:  # HNSW returns at most ef_search rows: widen its candidate list to k
                self.conn.execute(f"SET LOCAL hnsw.ef_search = {min(max(int(k), 40), 1000)}")
            rows = self.conn.execute(sql, (q, *params, q, k)).fetchall()
        return [(i, float(s)) for i, s in rows]

    def keyword_query(self, query: str, k: int, where: Sequence[Condition] = ()) -> list[tuple[str, float]]:
        """BM25 (Lucene's variant, as bm25s) over the rows holding any of the query's lexemes: the GIN
        index finds them and each word's document frequency. The corpus size and mean length are counted
        per query, so they are never stale after another process writes."""
        if not self._exists() or k <= 0:
            return []
        t = self.table
        clause, params = to_sql(where)
        sql = (f"WITH terms AS (SELECT l, ({_QUOTED}) AS qt "
               f"  FROM unnest(tsvector_to_array(to_tsvector('{LANGUAGE}', %s))) l), "
               f"stats AS (SELECT count(*)::float8 AS n, greatest(avg(kw_len), 1)::float8 AS avgdl FROM {t}), "
               "weights AS (SELECT terms.l, ln(1 + (stats.n - d.df + 0.5) / (d.df + 0.5)) AS idf FROM terms, stats, "
               f"  LATERAL (SELECT count(*) AS df FROM {t} WHERE kw @@ terms.qt::tsquery) d), "
               f"hits AS (SELECT id, kw, kw_len FROM {t} "
               f"  WHERE kw @@ (SELECT string_agg(qt, ' | ')::tsquery FROM terms) AND {clause}) "
               f"SELECT h.id, sum(w.idf * u.tf / (u.tf + {K1} * (1 - {B} + {B} * h.kw_len / stats.avgdl))) AS score "
               "FROM hits h CROSS JOIN stats "
               "CROSS JOIN LATERAL (SELECT lexeme, array_length(positions, 1)::float8 AS tf "
               "  FROM unnest(ts_filter(setweight(h.kw, 'A', (SELECT array_agg(l) FROM terms)), '{a}'))) u "
               "JOIN weights w ON w.l = u.lexeme "
               "GROUP BY h.id ORDER BY score DESC, h.id LIMIT %s")
        return [(i, float(s)) for i, s in self.conn.execute(sql, (query, *params, k)).fetchall()]

    def get(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        if not chunk_ids or not self._exists():
            return []
        rows = self.conn.execute(f"SELECT id, text, meta FROM {self.table} WHERE id = ANY(%s)",
                                 (list(chunk_ids),)).fetchall()
        by_id = {i: to_chunk(i, t, m) for i, t, m in rows}
        return [by_id[i] for i in chunk_ids if i in by_id]

    def ids_matching(self, where: Sequence[Condition]) -> set[str]:
        if not self._exists():
            return set()
        clause, params = to_sql(where)
        return {r[0] for r in self.conn.execute(f"SELECT id FROM {self.table} WHERE {clause}", params)}

    def _pages(self, columns: str, batch_size: int) -> Iterator[list[tuple]]:
        if not self._exists():
            return
        last = ""
        while True:  # keyset pagination: stable and index-backed, unlike OFFSET
            rows = self.conn.execute(f"SELECT id, {columns} FROM {self.table} WHERE id > %s ORDER BY id LIMIT %s",
                                     (last, batch_size)).fetchall()
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def documents(self) -> dict[str, DocState]:
        return doc_states(r[1] for rows in self._pages("meta", 20000) for r in rows)

    def iter_chunks(self, batch_size: int = 5000) -> Iterator[list[Chunk]]:
        for rows in self._pages("text, meta", batch_size):
            yield [to_chunk(i, t, m) for i, t, m in rows]

    def export(self, batch_size: int = 2000) -> Iterator[Page]:
        for rows in self._pages("text, meta, embedding", batch_size):
            yield to_page([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                          np.stack([_array(r[3]) for r in rows]))

    def count(self) -> int:
        return self.conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0] if self._exists() else 0
