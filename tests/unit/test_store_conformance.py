"""Every built-in store backend runs the conformance suite that ships in the package
(``ragtune.testing``), as a third-party store would."""

import pytest

from backend_fixtures import chroma_server, postgres  # noqa: F401  (fixtures)
from backend_fixtures import store_spec as spec_for
from ragtune.testing import VectorStoreConformance


class TestChroma(VectorStoreConformance):
    @pytest.fixture
    def store_spec(self, request):
        return spec_for("chroma", request)


class TestChromaServer(VectorStoreConformance):
    @pytest.fixture
    def store_spec(self, request):
        return spec_for("chroma-server", request)


class TestQdrantLocal(VectorStoreConformance):
    @pytest.fixture
    def store_spec(self, request):
        return spec_for("qdrant", request)


class TestMilvusLite(VectorStoreConformance):
    @pytest.fixture
    def store_spec(self, request):
        return spec_for("milvus", request)


class TestPgvector(VectorStoreConformance):
    @pytest.fixture
    def store_spec(self, request):
        return spec_for("pgvector", request)


class TestPinecone(VectorStoreConformance):
    @pytest.fixture
    def store_spec(self, request):
        return spec_for("pinecone", request)
