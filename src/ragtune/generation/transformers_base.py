"""A base model loaded in transformers: what the ``transformers`` generator answers with and what
fine-tuning trains (finetune.trainer), so both see the same weights and chat template."""

from __future__ import annotations

from pathlib import Path

from ragtune.errors import RagtuneError
from ragtune.generation.models import PACKAGED, resolve_gguf


def load_base(base: str):
    """The base model and tokenizer in transformers; packaged GGUF models are dequantised to fp32."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if base in PACKAGED or base.endswith(".gguf"):
        path = resolve_gguf(base)
        folder, kw = path.parent, {"gguf_file": path.name}
    else:
        folder, kw = Path(base), {}
        if not folder.is_dir():
            raise RagtuneError(f"base model {base!r} is neither a packaged model nor a model folder")
    tok = AutoTokenizer.from_pretrained(folder, **kw)
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, **kw)
    if "gguf_file" in kw:
        # transformers dequantises GGUF weights to full precision on load, yet still flags the model as
        # GGUF-quantised, which its Trainer refuses to train; the weights are plain tensors, so unflag them
        model.hf_quantizer = None  # type: ignore[assignment]  # transformers' stubs type attributes as submodules
        model.is_quantized = False  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model, tok
