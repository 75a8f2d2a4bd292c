"""A GGUF model's Q4_1 matrices re-quantised to a type that llama.cpp's CPU matrix kernels serve faster.

The packaged SmolLM2 ships as Q4_1, which llama.cpp multiplies row by row on x86: neither llamafile's GEMM nor
its repacked kernels take Q4_1. Measured here (bench/serve_load, bench/reader_default): re-quantised to Q8_0
it evaluates a RAG prompt about 1.5x faster, and Q8_0 holds each Q4_1 value within half a step of its own
(finer) grid, so the model is nearly the same. Q4_0 is faster still but loses the per-block minimum, and its
answers degrade. Written here with gguf-py (llama.cpp's own Python package) because llama.cpp's quantiser
ships in no wheel; files are cached and written atomically, so a crash or a second process never leaves a
half-written model.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ragtune.errors import RagtuneError

TARGETS = {"Q8_0": "MOSTLY_Q8_0", "Q4_0": "MOSTLY_Q4_0"}
"""Types a Q4_1 file can be re-quantised to, with the GGUF file type each one records."""
SOURCE = "Q4_1"


def check_target(target: str) -> None:
    if target and target not in TARGETS:
        raise RagtuneError(f"cannot re-quantise to {target!r}: choose one of {', '.join(TARGETS)}, or '' to keep "
                           "the file as it is")


def requantized(src: Path, target: str, cache: Path) -> Path:
    """``src`` with its Q4_1 matrices in ``target``, written once under ``cache``; ``src`` itself when it has no
    Q4_1 matrix or ``target`` is empty. The cached name carries the source's size and modification time, so a
    reinstalled model is converted again."""
    check_target(target)
    if not target:
        return src
    stat = src.stat()
    dst = cache / f"{src.stem}-{stat.st_size}-{stat.st_mtime_ns}.{target.lower()}.gguf"
    if dst.exists():
        return dst
    import gguf

    try:
        reader = gguf.GGUFReader(src)
    except (ValueError, IndexError) as e:  # a bad magic number; a file cut short
        raise RagtuneError(f"{src} is not a readable GGUF model ({e}); set requantize to '' to hand it to "
                           "llama.cpp as it is") from e
    if not any(t.tensor_type == gguf.GGMLQuantizationType[SOURCE] for t in reader.tensors):
        return src
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=f".{dst.name}.", suffix=".part")
    os.close(fd)
    try:
        _write(reader, Path(tmp), target)
        os.replace(tmp, dst)  # two processes converting at once write the same bytes; either rename wins
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dst


def _write(reader, path: Path, target: str) -> None:
    import gguf
    from gguf.quants import dequantize, quantize

    source, qtype = gguf.GGMLQuantizationType[SOURCE], gguf.GGMLQuantizationType[target]
    writer = gguf.GGUFWriter(path, reader.get_field(gguf.Keys.General.ARCHITECTURE).contents())
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue  # the writer adds these itself
        kind = field.types[0]
        value = field.contents()
        if field.name == gguf.Keys.General.FILE_TYPE:
            value = int(gguf.LlamaFileType[TARGETS[target]])
        writer.add_key_value(field.name, value, kind,
                             sub_type=field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None)
    tensors = [(t.name, quantize(dequantize(t.data, source), qtype), qtype) if t.tensor_type == source
               else (t.name, t.data, t.tensor_type) for t in reader.tensors]
    for name, data, kind in tensors:
        writer.add_tensor_info(name, data.shape, data.dtype, data.nbytes, kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for _, data, _ in tensors:
        writer.write_tensor_data(data)
    writer.close()
