"""Every store backend as a pytest parameter: a fresh, empty store spec per test. Servers (Chroma's
``chroma run``, an embedded Postgres with pgvector) start once per session on loopback; each test
gets its own collection or table in them. Pinecone cannot be reached from here and is skipped."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from ragtune.config import ComponentSpec

BACKENDS = ["chroma", "chroma-server", "qdrant", "milvus", "pgvector", "pinecone"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chroma_server():
    pytest.importorskip("chromadb")
    folder = Path(tempfile.mkdtemp(prefix="chroma-srv"))
    port = _free_port()
    chroma = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen([str(chroma), "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        for _ in range(300):
            try:
                urllib.request.urlopen(url + "/api/v2/heartbeat", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("chroma run exited at start")
                time.sleep(0.1)
        else:
            pytest.fail("chroma run did not answer within 30 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    pgserver = pytest.importorskip("pgserver", reason="pgserver (Postgres + pgvector in one wheel) not installed")
    pytest.importorskip("pgvector")
    pytest.importorskip("psycopg")
    # a short folder: the server's unix socket lives in it, and socket paths are capped at 107 bytes
    folder = tempfile.mkdtemp(prefix="rtpg")
    server = pgserver.get_server(folder, cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()


def store_spec(backend: str, request) -> ComponentSpec:
    """A spec for a new, empty store of ``backend``; folders are relative to the project folder."""
    name = "t" + uuid.uuid4().hex[:12]
    if backend == "chroma":
        return ComponentSpec(type="chroma")
    if backend == "chroma-server":
        return ComponentSpec(type="chroma", params={"url": request.getfixturevalue("chroma_server"),
                                                    "collection": name})
    if backend == "qdrant":
        pytest.importorskip("qdrant_client")
        return ComponentSpec(type="qdrant")
    if backend == "milvus":
        pytest.importorskip("milvus_lite", reason="milvus-lite not installed")
        return ComponentSpec(type="milvus")
    if backend == "pgvector":
        return ComponentSpec(type="pgvector", params={"dsn": request.getfixturevalue("postgres"), "table": name})
    pytest.skip("Pinecone is a hosted service that cannot be reached from here; "
                "test_store_pinecone.py checks its requests offline")


@pytest.fixture(params=BACKENDS)
def backend(request) -> ComponentSpec:
    return store_spec(request.param, request)
