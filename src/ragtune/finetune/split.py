"""``ragtune data split``: a deterministic train / validation split (the guide: hold out 10–20%).
Exact duplicates stay on one side, so the validation set never contains a training example."""

from __future__ import annotations

import random
from pathlib import Path

from ragtune.errors import RagtuneError
from ragtune.finetune.dataset import Example, read_chat_file
from ragtune.jsonl import write_jsonl


def split(path: Path, val_fraction: float = 0.15, seed: int = 0, out_dir: Path | None = None,
          force: bool = False) -> tuple[Path, Path, int, int]:
    if not 0 < val_fraction < 1:
        raise RagtuneError(f"--val must be between 0 and 1, got {val_fraction}")
    cf = read_chat_file(path)
    errors = [str(f) for f in cf.findings if f.severity == "error"]
    if errors:
        raise RagtuneError("fix these before splitting:\n" + "\n".join(errors))
    groups: dict[str, list[Example]] = {}
    for e in cf.examples:
        groups.setdefault(e.key, []).append(e)
    keys = sorted(groups)  # independent of file order, so the split depends on content and seed only
    random.Random(seed).shuffle(keys)
    n_val = max(1, round(len(keys) * val_fraction))
    if n_val >= len(keys):
        raise RagtuneError(f"{path}: {len(keys)} distinct examples are too few to split")
    val = [e for k in keys[:n_val] for e in groups[k]]
    train = [e for k in keys[n_val:] for e in groups[k]]
    out_dir = out_dir or path.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = path.name.removesuffix(".jsonl")
    train_path, val_path = out_dir / f"{stem}.train.jsonl", out_dir / f"{stem}.val.jsonl"
    existing = [p for p in (train_path, val_path) if p.exists()]
    if existing and not force:
        raise RagtuneError(f"{', '.join(map(str, existing))} already exist; pass --force to overwrite")
    write_jsonl(train_path, ({"messages": e.messages} for e in sorted(train, key=lambda e: e.line)))
    write_jsonl(val_path, ({"messages": e.messages} for e in sorted(val, key=lambda e: e.line)))
    return train_path, val_path, len(train), len(val)
