"""Keyword search inside the engine (``stores/keywords.py``): Postgres (BM25 in SQL), Milvus Lite (its
BM25 function) and Qdrant's local mode (sparse vectors with its IDF modifier) rank with the same scores
as ragtune's own BM25 (bm25s, an independent implementation) on the same chunks; a Postgres table
written before keyword search gains it, a Milvus or Qdrant collection from before says how to gain it
and still serves dense search; and a project on each searches both halves in the engine, filters
included, without building a BM25 index beside it."""

from __future__ import annotations

import gc
import json
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from backend_fixtures import postgres  # noqa: F401  (fixture)
from conftest import CORPUS, write_files
from ragtune.cli.app import app
from ragtune.config import ComponentSpec
from ragtune.errors import RagtuneError
from ragtune.retrieval.bm25 import BM25Index
from ragtune.stores import STORES
from ragtune.stores.filters import parse_filters
from ragtune.stores.keywords import keyword_search
from ragtune.stores.tokenizer import tokenize
from ragtune.testing.store_conformance import WORDS, corpus_rows, new_project, write

ENGINES = ["pgvector", "milvus", "qdrant"]

runner = CliRunner()


@pytest.fixture
def pg(postgres, request):  # noqa: F811
    return STORES.create("pgvector", dsn=postgres, table="kw_" + request.node.name[-20:].replace("-", "_").lower()
                         .replace("[", "_").replace("]", "_"))


@pytest.fixture
def engine(request, tmp_path):
    """A new, empty store of the backend named by the test's ``backend`` parameter."""
    backend = request.param
    if backend == "pgvector":
        return request.getfixturevalue("pg")
    pytest.importorskip({"milvus": "milvus_lite", "qdrant": "qdrant_client"}[backend])
    return STORES.create(backend, **({"uri": str(tmp_path / "m.db")} if backend == "milvus" else
                                     {"path": str(tmp_path / "q")}))


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_only_engines_that_rank_keywords_declare_it(tmp_path, engine):
    assert keyword_search(engine) is engine
    assert keyword_search(STORES.create("chroma", path=str(tmp_path / "c"))) is None


@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_engine_bm25_scores_equal_ragtunes_bm25(tmp_path, engine):
    rows = corpus_rows()
    # documents of different lengths, so the length normalisation is exercised too
    rows = [replace(r, text=r.text + " apple" * (i % 4)) for i, r in enumerate(rows)]
    if type(engine).__name__ == "QdrantStore":  # normalises against a set average: here the corpus's own
        engine.keyword_avg_len = float(np.mean([len(ids) for ids in tokenize([r.indexed_text for r in rows]).ids]))
    write(engine, rows)
    bm25 = BM25Index(tmp_path / "bm25")
    bm25.rebuild([rows])
    for where in ((), tuple(parse_filters(["shelf=B", "rank>=40"]))):
        mask = bm25.ids_mask(engine.ids_matching(where)) if where else None
        for i in range(8):
            query = " ".join(WORDS[i:i + 3])
            got = dict(engine.keyword_query(query, len(rows), where))
            want = dict(bm25.search(query, len(rows), mask))
            assert sorted(got) == sorted(want)
            np.testing.assert_allclose([got[c] for c in sorted(got)], [want[c] for c in sorted(got)], rtol=1e-5)


def test_a_table_from_before_keyword_search_gains_it(pg):
    write(pg, corpus_rows(20))
    before = pg.keyword_query("apple banana", 20)
    pg.conn.execute(f"ALTER TABLE {pg.table} DROP COLUMN kw, DROP COLUMN kw_len")  # drops its index too
    assert before and STORES.create("pgvector", dsn=pg.dsn, table=pg.table).keyword_query("apple banana", 20) == before


def invoke(*args):
    # each command opens the project anew; Qdrant's local mode lets one client at a time hold its
    # folder, and the last command's client is released only once collected
    gc.collect()
    return runner.invoke(app, [str(a) for a in args])


def error_of(*args) -> tuple[type, str]:
    # the type and message only: the exception's traceback would keep the command's store client alive
    e = invoke(*args).exception
    return type(e), str(e)


def cli_json(*args):
    result = invoke(*args, "--json")
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return json.loads(result.stdout)


def engine_spec(backend: str, request) -> ComponentSpec:
    if backend == "pgvector":
        return ComponentSpec(type="pgvector", params={"dsn": request.getfixturevalue("postgres"), "table": "kb_cli"})
    pytest.importorskip({"milvus": "milvus_lite", "qdrant": "qdrant_client"}[backend])
    return ComponentSpec(type=backend)  # in the project folder


@pytest.mark.parametrize("backend", ENGINES)
def test_a_project_searches_keywords_in_its_engine_with_filters(tmp_path, backend, request):
    proj = tmp_path / "proj"
    new_project(proj, engine_spec(backend, request))
    report = cli_json("ingest", write_files(tmp_path / "docs", CORPUS) / "kb", "-p", proj)
    assert report["added"] == len(CORPUS)
    assert not (proj / "bm25" / "ids.json").exists()  # the engine holds the keyword index
    rows = cli_json("search", "refunds business days", "-p", proj, "--mode", "bm25", "--filter", "updated<2024-01-01")
    assert [r["doc_id"] for r in rows] == ["kb/billing.md"] and set(rows[0]["scores"]) == {"bm25"}
    rows = cli_json("search", "refunds business days", "-p", proj, "--filter", "category!=billing", "-k", "4")
    assert len(rows) == 4 and all(r["metadata"]["category"] != "billing" for r in rows)
    rows = cli_json("search", "SAML single sign-on", "-p", proj, "-k", "1")
    assert rows[0]["doc_id"] == "kb/sso.md" and set(rows[0]["scores"]) == {"dense", "bm25", "rrf"}


def old_collection(backend: str, folder, dim: int) -> None:
    """A collection as ragtune made it before it searched keywords in the engine: a dense vector only."""
    if backend == "milvus":
        from pymilvus import DataType, MilvusClient

        c = MilvusClient(str(folder / "milvus.db"))
        schema = c.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=2048)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=2048)
        schema.add_field("text", DataType.VARCHAR, max_length=65535)
        schema.add_field("meta", DataType.JSON)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        index = c.prepare_index_params()
        index.add_index("vector", index_type="AUTOINDEX", metric_type="COSINE")
        c.create_collection("chunks", schema=schema, index_params=index, consistency_level="Strong")
    else:
        from qdrant_client import QdrantClient
        from qdrant_client import models as M

        c = QdrantClient(path=str(folder / "qdrant"))
        c.create_collection("chunks", vectors_config=M.VectorParams(size=dim, distance=M.Distance.COSINE))
    c.close()


@pytest.mark.parametrize("backend", ["milvus", "qdrant"])
def test_a_collection_from_before_keyword_search_says_how_to_gain_it(tmp_path, backend, request):
    proj = tmp_path / "proj"
    p = new_project(proj, engine_spec(backend, request))
    old_collection(backend, proj, p.embedder.dimension)
    assert cli_json("ingest", write_files(tmp_path / "docs", CORPUS) / "kb", "-p", proj)["added"] == len(CORPUS)
    rows = cli_json("search", "SAML single sign-on", "-p", proj, "--mode", "dense", "-k", "1")
    assert rows[0]["doc_id"] == "kb/sso.md"  # the old collection still serves dense search
    for mode in ("bm25", "hybrid"):
        # a RagtuneError, which the installed command prints as an error and exits 2 on
        kind, message = error_of("search", "SAML single sign-on", "-p", proj, "--mode", mode)
        assert kind is RagtuneError and "`ragtune store migrate`" in message
    new = f"{backend}:///{tmp_path / 'new'}" + ("/milvus.db" if backend == "milvus" else "")
    assert cli_json("store", "migrate", "--to", new, "--use", "-p", proj)["chunks"] > 0
    rows = cli_json("search", "SAML single sign-on", "-p", proj, "-k", "1")
    assert rows[0]["doc_id"] == "kb/sso.md" and set(rows[0]["scores"]) == {"dense", "bm25", "rrf"}
