"""A GGUF model's 4-bit Q4_1 matrices re-quantised to another llama.cpp type, with gguf-py.

llama.cpp's own `llama-quantize` does this, but no wheel here ships it (xllamacpp has the server only), and
gguf-py (a dependency already, from llama.cpp's repository) has the block formats in numpy. Only Q4_1
tensors change; the others (norms, the Q8_0 embedding) are copied as they are. Q8_0 holds a Q4_1 block
almost exactly; Q4_0 (no per-block minimum) loses some precision, so answers may differ.
"""

from __future__ import annotations

from pathlib import Path

FILE_TYPES = {"Q8_0": "MOSTLY_Q8_0", "Q4_0": "MOSTLY_Q4_0"}


def requantize(src: Path, dst: Path, target: str) -> Path:
    """``dst``, written once from ``src`` (kept when it exists: the conversion is deterministic)."""
    import gguf
    from gguf.quants import dequantize, quantize

    if dst.exists():
        return dst
    qtype = gguf.GGMLQuantizationType[target]
    reader = gguf.GGUFReader(src)
    tmp = dst.with_suffix(".part")
    writer = gguf.GGUFWriter(tmp, reader.get_field(gguf.Keys.General.ARCHITECTURE).contents())
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue  # the writer adds these itself
        kind = field.types[0]
        value = field.contents()
        if field.name == gguf.Keys.General.FILE_TYPE:
            value = int(gguf.LlamaFileType[FILE_TYPES[target]])
        writer.add_key_value(field.name, value, kind,
                             sub_type=field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None)
    tensors = []
    for t in reader.tensors:
        if t.tensor_type == gguf.GGMLQuantizationType.Q4_1:
            tensors.append((t.name, quantize(dequantize(t.data, t.tensor_type), qtype), qtype))
        else:
            tensors.append((t.name, t.data, t.tensor_type))
    for name, data, kind in tensors:
        writer.add_tensor_info(name, data.shape, data.dtype, data.nbytes, kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for _, data, _ in tensors:
        writer.write_tensor_data(data)
    writer.close()
    tmp.rename(dst)
    return dst
