"""Keyword search inside the engine (``stores/keywords.py``): Postgres ranks BM25 in SQL with the same
scores as ragtune's own BM25 (bm25s, an independent implementation) on the same chunks, a table written
before keyword search gains it, and a project on Postgres searches both halves there, filters
included, without building a BM25 index beside it."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from store_backends import postgres  # noqa: F401  (fixture)
from typer.testing import CliRunner

from conftest import CORPUS, write_files
from ragtune.cli.app import app
from ragtune.config import ComponentSpec
from ragtune.retrieval.bm25 import BM25Index
from ragtune.stores import STORES
from ragtune.stores.filters import parse_filters
from ragtune.stores.keywords import keyword_search
from ragtune.testing.store_conformance import WORDS, corpus_rows, new_project, write

runner = CliRunner()


@pytest.fixture
def pg(postgres, request):  # noqa: F811
    return STORES.create("pgvector", dsn=postgres, table="kw_" + request.node.name[-20:].replace("-", "_").lower()
                         .replace("[", "_").replace("]", "_"))


def test_only_engines_that_rank_keywords_declare_it(tmp_path, pg):
    assert keyword_search(pg) is pg
    assert keyword_search(STORES.create("chroma", path=str(tmp_path / "c"))) is None


def test_postgres_bm25_scores_equal_ragtunes_bm25(tmp_path, pg):
    rows = corpus_rows()
    # documents of different lengths, so the length normalisation is exercised too
    rows = [replace(r, text=r.text + " apple" * (i % 4)) for i, r in enumerate(rows)]
    write(pg, rows)
    bm25 = BM25Index(tmp_path / "bm25")
    bm25.rebuild([rows])
    for where in ((), tuple(parse_filters(["shelf=B", "rank>=40"]))):
        mask = bm25.ids_mask(pg.ids_matching(where)) if where else None
        for i in range(8):
            query = " ".join(WORDS[i:i + 3])
            got = dict(pg.keyword_query(query, len(rows), where))
            want = dict(bm25.search(query, len(rows), mask))
            assert sorted(got) == sorted(want)
            np.testing.assert_allclose([got[c] for c in sorted(got)], [want[c] for c in sorted(got)], rtol=1e-5)


def test_a_table_from_before_keyword_search_gains_it(pg):
    write(pg, corpus_rows(20))
    before = pg.keyword_query("apple banana", 20)
    pg.conn.execute(f"ALTER TABLE {pg.table} DROP COLUMN kw, DROP COLUMN kw_len")  # drops its index too
    assert before and STORES.create("pgvector", dsn=pg.dsn, table=pg.table).keyword_query("apple banana", 20) == before


def cli_json(*args):
    result = runner.invoke(app, [str(a) for a in args] + ["--json"])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return json.loads(result.stdout)


def test_a_project_on_postgres_searches_keywords_there_with_filters(tmp_path, postgres):  # noqa: F811
    proj = tmp_path / "proj"
    new_project(proj, ComponentSpec(type="pgvector", params={"dsn": postgres, "table": "kb_cli"}))
    report = cli_json("ingest", write_files(tmp_path / "docs", CORPUS) / "kb", "-p", proj)
    assert report["added"] == len(CORPUS)
    assert not (proj / "bm25" / "ids.json").exists()  # Postgres holds the keyword index
    rows = cli_json("search", "refunds business days", "-p", proj, "--mode", "bm25", "--filter", "updated<2024-01-01")
    assert [r["doc_id"] for r in rows] == ["kb/billing.md"] and set(rows[0]["scores"]) == {"bm25"}
    rows = cli_json("search", "refunds business days", "-p", proj, "--filter", "category!=billing", "-k", "4")
    assert len(rows) == 4 and all(r["metadata"]["category"] != "billing" for r in rows)
    rows = cli_json("search", "SAML single sign-on", "-p", proj, "-k", "1")
    assert rows[0]["doc_id"] == "kb/sso.md" and set(rows[0]["scores"]) == {"dense", "bm25", "rrf"}
