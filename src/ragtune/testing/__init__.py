"""Test suites that ship with ragtune so a plugin proves it keeps the contracts the built-ins keep.
They are pytest classes: ``pip install ragtune[testing]`` (or ``[dev]``) brings pytest.

    from ragtune.testing import VectorStoreConformance

    class TestMyStore(VectorStoreConformance):
        @pytest.fixture
        def store_spec(self):
            return ComponentSpec(type="my-store", params={...})
"""

from ragtune.testing.store_conformance import VectorStoreConformance

__all__ = ["VectorStoreConformance"]
