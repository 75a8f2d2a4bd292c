"""A project deleted and made again at the same path, in one process (a notebook, a test suite, a bench): the
embedded engines cache their database per path for the life of the process, so the new store must not read
or write the deleted one."""

import gc
import shutil

import pytest

from ragtune.config import ComponentSpec
from ragtune.testing.store_conformance import chunks_of, new_project, write

EMBEDDED = {"chroma": "chromadb", "qdrant": "qdrant_client", "milvus": "milvus_lite"}


@pytest.mark.parametrize("backend", sorted(EMBEDDED))
def test_a_store_made_again_in_its_deleted_folder_starts_empty_and_keeps_what_it_is_given(tmp_path, backend):
    pytest.importorskip(EMBEDDED[backend])
    spec, folder = ComponentSpec(type=backend), tmp_path / "proj"
    first = new_project(folder, spec).store
    write(first, chunks_of("old", ["alpha", "beta"]))
    assert first.count() == 2

    shutil.rmtree(folder)
    again = new_project(folder, spec).store
    assert again.count() == 0 and again.documents() == {}
    write(again, chunks_of("new", ["gamma"]))
    assert again.count() == 1 and sorted(again.documents()) == ["new"]

    del first, again  # Qdrant's local mode lets one client at a time hold a folder
    gc.collect()
    reopened = new_project(folder, spec).store  # the folder exists: the same data, not a fresh start
    assert reopened.count() == 1 and [c.text for c in reopened.get(["new#0"])] == ["gamma"]
