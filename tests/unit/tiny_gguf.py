"""A small GGUF model written with gguf-py, for tests of code that reads or converts model files."""

from __future__ import annotations

import gguf
import numpy as np


def write_model(path, tensors: dict[str, tuple[np.ndarray, object]]):
    """A llama-architecture file with a few metadata fields and ``tensors`` (name: data, GGML type)."""
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("tiny")
    w.add_uint32("llama.block_count", 1)
    w.add_file_type(int(gguf.LlamaFileType.MOSTLY_Q4_1))
    w.add_token_list(["<s>", "a", "b"])
    for name, (data, kind) in tensors.items():
        w.add_tensor(name, data, raw_dtype=kind)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
