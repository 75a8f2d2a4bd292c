"""The llama.cpp adapter export's q/k row order is the inverse of what transformers undoes when it
loads a llama GGUF file (an independent implementation), so base and adapter rows line up."""

from __future__ import annotations

import numpy as np
import pytest
from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

from ragtune.finetune.gguf_adapter import _permute


@pytest.mark.parametrize("heads, kv_heads, name", [(9, 9, "blk.0.attn_q.weight"), (9, 3, "blk.0.attn_k.weight")])
def test_permute_is_undone_by_transformers_gguf_loader(heads, kv_heads, name):
    head_dim, rank = 8, 4
    rows = (heads if "attn_q" in name else kv_heads) * head_dim
    lora_b = np.random.default_rng(0).standard_normal((rows, rank)).astype(np.float32)
    stored = _permute(lora_b, heads if "attn_q" in name else kv_heads)
    assert not np.array_equal(stored, lora_b)
    loader = LlamaTensorProcessor(config={"num_attention_heads": heads, "num_key_value_heads": kv_heads})
    np.testing.assert_array_equal(loader.process(stored, name).weights, lora_b)
