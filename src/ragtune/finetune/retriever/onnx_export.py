"""A tuned bi-encoder as the project's `onnx` embedder uses the packaged one: its transformer exported to
ONNX (token embeddings out; the embedder mean-pools and normalises, as the model's own pooling does), with
its tokenizer beside it; the embedder re-quantises it to int8 compute on first use (onnx_quantize)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ragtune.errors import RagtuneError

ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"


def export_onnx(model_dir: Path, out: Path) -> Path:
    """``model_dir`` (a sentence-transformers folder) as ``out/model.onnx`` and ``out/tokenizer.json``."""
    import torch
    from sentence_transformers import SentenceTransformer

    model: Any = SentenceTransformer(str(model_dir), device="cpu")
    pooling = model[1].get_config_dict() if len(model) > 1 else {}
    if pooling.get("pooling_mode") not in ("mean", ["mean"]):  # the onnx embedder mean-pools; anything else would differ
        raise RagtuneError(f"{model_dir} does not mean-pool; only mean-pooled models export to the onnx embedder")
    encoder = model[0].auto_model.eval()
    out.mkdir(parents=True, exist_ok=True)
    ids = torch.ones(2, 8, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    tmp = out / f".{ONNX_FILE}.tmp"

    class Hidden(torch.nn.Module):  # the last hidden state only: a tuple output would export every layer's
        def __init__(self):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state

    with torch.no_grad():
        torch.onnx.export(Hidden(), (ids, ids, torch.zeros_like(ids)), str(tmp), input_names=names,
                          output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]})
    tmp.replace(out / ONNX_FILE)
    shutil.copyfile(Path(model_dir) / TOKENIZER_FILE, out / TOKENIZER_FILE)
    return out / ONNX_FILE
