"""Re-quantising a GGUF model's Q4_1 matrices, on a small model written here with gguf-py: every other field and
tensor is copied unchanged, and each converted value stays within the target type's rounding error of the value
it had (worked out here from the block's largest value, independently of gguf-py's code)."""

from __future__ import annotations

import gguf
import numpy as np
import pytest
from gguf.quants import dequantize, quantize

from ragtune.errors import RagtuneError
from ragtune.generation import requantize as rq
from tiny_gguf import write_model

T = gguf.GGMLQuantizationType
BLOCK = 32
STEPS = {"Q8_0": 127, "Q4_0": 8}  # the largest |value| of a block maps to this many steps of its scale
# In steps: Q8_0 rounds to the nearest; Q4_0's grid runs from -8 to 7 steps, so a value at the end opposite the
# block's largest can be off by a whole step.
ROUNDING = {"Q8_0": 0.5, "Q4_0": 1.0}
FP16_ERROR = 2.0 ** -11  # the scale is stored as a float16: relative error, times up to STEPS steps


@pytest.fixture
def model(tmp_path):
    rng = np.random.default_rng(0)
    weights = rng.normal(0, 0.1, size=(8, 128)).astype(np.float32)
    weights[0, :BLOCK] += 3.0  # a block far from zero: Q4_1 keeps its minimum, Q4_0 cannot
    return write_model(tmp_path / "tiny.gguf", {
        "blk.0.ffn_up.weight": (quantize(weights, T.Q4_1), T.Q4_1),
        "blk.0.attn_norm.weight": (rng.normal(size=128).astype(np.float32), T.F32),
        "token_embd.weight": (quantize(rng.normal(size=(3, 128)).astype(np.float32), T.Q8_0), T.Q8_0)})


def fields(reader) -> dict:
    return {f.name: f.contents() for f in reader.fields.values() if not f.name.startswith("GGUF.")}


@pytest.mark.parametrize("target", ["Q8_0", "Q4_0"])
def test_q4_1_matrices_become_the_target_within_its_rounding_and_all_else_is_copied(model, tmp_path, target):
    out = rq.requantized(model, target, tmp_path / "cache")
    src, dst = gguf.GGUFReader(model), gguf.GGUFReader(out)
    assert out != model and out.parent == tmp_path / "cache"
    assert fields(dst) == {**fields(src), "general.file_type": int(gguf.LlamaFileType[rq.TARGETS[target]])}
    before, after = {t.name: t for t in src.tensors}, {t.name: t for t in dst.tensors}
    assert list(after) == list(before)
    for name in ("blk.0.attn_norm.weight", "token_embd.weight"):
        assert after[name].tensor_type == before[name].tensor_type
        assert np.array_equal(after[name].data, before[name].data)
    old, new = before["blk.0.ffn_up.weight"], after["blk.0.ffn_up.weight"]
    assert new.tensor_type == T[target]
    x, y = dequantize(old.data, T.Q4_1), dequantize(new.data, T[target])
    blocks = np.abs(x).reshape(-1, BLOCK).max(axis=1, keepdims=True)
    step = blocks / STEPS[target]
    error = np.abs(y - x).reshape(-1, BLOCK)
    assert np.all(error <= step * (ROUNDING[target] + STEPS[target] * FP16_ERROR) + 1e-7)
    assert error.max() > 0  # it was converted, not copied


def test_a_converted_model_is_reused_and_a_reinstalled_one_converted_again(model, tmp_path):
    cache = tmp_path / "cache"
    first = rq.requantized(model, "Q8_0", cache)
    written = first.stat().st_mtime_ns
    assert rq.requantized(model, "Q8_0", cache) == first and first.stat().st_mtime_ns == written
    model.touch()  # a reinstall: same name, new file
    again = rq.requantized(model, "Q8_0", cache)
    assert again != first and again.exists()
    assert [p.name for p in cache.iterdir() if p.suffix == ".part"] == []


def test_nothing_to_convert_gives_the_file_itself(model, tmp_path):
    assert rq.requantized(model, "", tmp_path / "cache") == model
    plain = write_model(tmp_path / "plain.gguf", {"w": (np.ones((2, BLOCK), np.float32), T.F32)})
    assert rq.requantized(plain, "Q8_0", tmp_path / "cache") == plain
    assert not (tmp_path / "cache").exists()


def test_a_failed_conversion_leaves_no_model_behind(model, tmp_path, monkeypatch):
    def broken(reader, path, target):
        path.write_bytes(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(rq, "_write", broken)
    with pytest.raises(OSError, match="disk full"):
        rq.requantized(model, "Q8_0", tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_bad_targets_and_unreadable_files_are_named(model, tmp_path):
    with pytest.raises(RagtuneError, match=r"cannot re-quantise to 'Q5_K'.*Q8_0, Q4_0"):
        rq.requantized(model, "Q5_K", tmp_path)
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model at all, just bytes")
    with pytest.raises(RagtuneError, match=r"not a readable GGUF model.*requantize to ''"):
        rq.requantized(bad, "Q8_0", tmp_path / "cache")
