"""``ragtune data validate``: every check on a training (and optional validation) file, all
problems at once, and a summary of what training would see."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from ragtune.finetune.chat_tokens import ChatTokenCounter
from ragtune.finetune.dataset import MIN_EXAMPLES, RECOMMENDED_EXAMPLES, ChatFile, Finding, near_duplicates, read_chat_file


@dataclass
class Report:
    files: list[ChatFile]
    findings: list[Finding] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "stats": self.stats,
                "errors": [str(f) for f in self.findings if f.severity == "error"],
                "warnings": [str(f) for f in self.findings if f.severity == "warning"]}


def _check_one(cf: ChatFile, counter: ChatTokenCounter, max_seq_len: int, role: str) -> dict:
    n = len(cf.examples)
    if role == "train":
        if n < MIN_EXAMPLES:
            cf.error(None, f"{n} valid examples; at least {MIN_EXAMPLES} are needed to fine-tune")
        elif n < RECOMMENDED_EXAMPLES:
            cf.warn(None, f"{n} examples; under {RECOMMENDED_EXAMPLES} rarely produces a meaningful improvement")
    seen: dict[str, int] = {}
    for e in cf.examples:
        if e.key in seen:
            cf.warn(e.line, f"exact duplicate of line {seen[e.key]}")
        else:
            seen[e.key] = e.line
    pairs = near_duplicates(cf.examples)
    for a, b in pairs:
        cf.warn(b.line, f"near duplicate of line {a.line}")
    tokens = []
    for e in cf.examples:
        count = counter.count(e.messages)
        tokens.append(count)
        if count > max_seq_len:
            cf.warn(e.line, f"{count} tokens: truncated to --max-seq-len {max_seq_len} in training")
    return {"file": str(cf.path), "examples": n,
            "tokens_min": min(tokens, default=0), "tokens_median": statistics.median(tokens) if tokens else 0,
            "tokens_max": max(tokens, default=0), "truncated": sum(t > max_seq_len for t in tokens),
            "tokens_per_epoch": sum(min(t, max_seq_len) for t in tokens)}


def validate(train: Path, counter: ChatTokenCounter, val: Path | None = None, max_seq_len: int | None = None
             ) -> Report:
    max_seq_len = min(max_seq_len or counter.context, counter.context)
    files = [read_chat_file(train)] + ([read_chat_file(val)] if val else [])
    report = Report(files)
    report.stats = {"max_seq_len": max_seq_len,
                    "files": [_check_one(cf, counter, max_seq_len, role)
                              for cf, role in zip(files, ("train", "val"), strict=False)]}  # val is optional
    if val:
        train_keys = {e.key: e.line for e in files[0].examples}
        for e in files[1].examples:
            if e.key in train_keys:
                files[1].error(e.line, f"also in the training file (line {train_keys[e.key]}): "
                                       "evaluation on it would be leaked")
    for cf in files:
        report.findings += cf.findings
    return report
