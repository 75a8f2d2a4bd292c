"""A peft LoRA adapter written as a llama.cpp GGUF adapter, so a tuned model answers through
llama.cpp on its quantised base (several times faster on a CPU than transformers).

llama.cpp's own converter (convert_lora_to_gguf.py) is a script in its source tree, not in any
package that installs here; this is the part of it ragtune needs, on the gguf package's writer and
tensor-name map."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ragtune.errors import RagtuneError


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp stores a llama model's q and k rows interleaved per rotary pair (what its converter
    does to the base weights); the rows of lora_B must be reordered the same way."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def export_gguf_adapter(adapter_dir: Path, base_gguf: Path, out: Path) -> Path:
    import gguf
    from safetensors.numpy import load_file

    cfg = json.loads((adapter_dir / "adapter_config.json").read_text())
    base = gguf.GGUFReader(base_gguf)
    arch = base.fields["general.architecture"].contents()
    n_head = base.fields[f"{arch}.attention.head_count"].contents()
    n_kv = base.fields[f"{arch}.attention.head_count_kv"].contents()
    model_arch = next(a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == arch)
    names = gguf.TensorNameMap(model_arch, base.fields[f"{arch}.block_count"].contents())
    tensors = load_file(str(adapter_dir / "adapter_model.safetensors"))
    tmp = out.with_name(out.name + ".tmp")
    writer = gguf.GGUFWriter(tmp, arch=arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(cfg["lora_alpha"]))
    for key in sorted(k for k in tensors if ".lora_A." in k):
        module = key.split("base_model.model.", 1)[1].split(".lora_A.")[0]
        target = names.get_name(module + ".weight", try_suffixes=(".weight",))
        if target is None:
            raise RagtuneError(f"no llama.cpp tensor for adapter module {module}")
        a, b = tensors[key].astype(np.float32), tensors[key.replace(".lora_A.", ".lora_B.")].astype(np.float32)
        if arch == "llama" and module.endswith(("q_proj", "k_proj")):
            b = _permute(b, n_head if module.endswith("q_proj") else n_kv)
        writer.add_tensor(target + ".lora_a", np.ascontiguousarray(a))
        writer.add_tensor(target + ".lora_b", np.ascontiguousarray(b))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(out)
    return out

