"""Ray Data spreading the embedding of a corpus over two worker processes gives the same vectors,
in the same order, as embedding it in this process."""

from __future__ import annotations

import numpy as np
import pytest

from ragtune.embedding import EMBEDDERS
from ragtune.embedding.distributed import embed_distributed


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray", reason="pip install 'ragtune[ray]'")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_two_workers_match_one_process_in_order(ray_local):
    spec = {"type": "hashing", "params": {"dimension": 64}}
    texts = [f"passage {i} about topic {i % 7} and word{i * 13 % 101}" for i in range(500)]
    expected = EMBEDDERS.from_dict(spec).embed(texts)
    got = embed_distributed(texts, spec, workers=2, batch_size=37)  # batches that do not divide evenly
    assert got.shape == (500, 64)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_each_worker_builds_its_embedder_from_the_spec(ray_local):
    # a spec the workers cannot build fails loudly rather than returning zeros
    with pytest.raises(Exception, match="unknown embedder 'nope'"):
        embed_distributed(["a", "b"], {"type": "nope"}, workers=1)
