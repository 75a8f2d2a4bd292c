import pytest

from ragtune.retrieval.fusion import reciprocal_rank_fusion


def test_rrf_hand_computed_scores():
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]], k=60))
    assert fused == pytest.approx({"a": 1 / 61 + 1 / 62, "b": 1 / 62, "c": 1 / 63 + 1 / 61})


def test_rrf_order_and_k():
    # with k=1: a = 1/2 + 1/3, c = 1/4 + 1/2, b = 1/3
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]], k=1)
    assert [d for d, _ in fused] == ["a", "c", "b"]
    assert [s for _, s in fused] == pytest.approx([5 / 6, 3 / 4, 1 / 3])


def test_items_in_both_lists_outrank_items_in_one():
    dense = ["d1", "d2", "both1", "d3", "both2"]
    sparse = ["s1", "both2", "s2", "both1", "s3"]
    fused = [d for d, _ in reciprocal_rank_fusion([dense, sparse])]
    assert set(fused[:2]) == {"both1", "both2"}
    assert sorted(fused) == sorted(set(dense) | set(sparse))


def test_ties_break_by_id_and_weights_apply():
    assert reciprocal_rank_fusion([["b"], ["a"]]) == [("a", 1 / 61), ("b", 1 / 61)]
    fused = reciprocal_rank_fusion([["b"], ["a"]], weights=[2.0, 1.0])
    assert fused == [("b", pytest.approx(2 / 61)), ("a", pytest.approx(1 / 61))]
    assert reciprocal_rank_fusion([]) == []
    assert reciprocal_rank_fusion([[], []]) == []
