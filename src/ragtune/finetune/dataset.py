"""Chat fine-tuning data in OpenAI's format: read, check, and report every problem at once.

Each line is ``{"messages": [{"role", "content"}, ...]}``; ``{"prompt", "completion"}`` lines are
accepted and converted. Problems name the file and line; errors stop training, warnings do not."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ragtune.generation.protocol import Message

ROLES = {"system", "user", "assistant"}
MESSAGE_KEYS = {"role", "content", "name", "weight"}  # OpenAI also allows name, and weight on assistant turns
MIN_EXAMPLES, RECOMMENDED_EXAMPLES = 10, 50  # the guide: "under 50 examples rarely produces meaningful improvement"


@dataclass
class Finding:
    severity: str  # "error" or "warning"
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{self.severity}: {where}: {self.message}"


@dataclass
class Example:
    messages: list[Message]
    file: str
    line: int

    @property
    def key(self) -> str:
        """Identity for exact-duplicate and leakage checks: whitespace- and case-insensitive."""
        text = json.dumps([(m["role"], " ".join(m["content"].lower().split())) for m in self.messages])
        return hashlib.sha256(text.encode()).hexdigest()

    def words(self) -> set[str]:
        return set(re.findall(r"\w+", " ".join(m["content"] for m in self.messages).lower()))


@dataclass
class ChatFile:
    path: Path
    examples: list[Example] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def error(self, line: int | None, message: str) -> None:
        self.findings.append(Finding("error", str(self.path), line, message))

    def warn(self, line: int | None, message: str) -> None:
        self.findings.append(Finding("warning", str(self.path), line, message))


_JSON_TYPES = {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "an object"}


def _content_problem(message: dict) -> str:
    if "content" not in message or message["content"] is None:
        return "missing content"
    content = message["content"]
    if not isinstance(content, str):
        return f"content must be a string (got {_JSON_TYPES[type(content)]})"
    return "" if content.strip() else "empty content"


def _messages(row: object, where: ChatFile, n: int) -> list[Message] | None:
    if not isinstance(row, dict):
        where.error(n, "expected a JSON object")
        return None
    if "messages" not in row and {"prompt", "completion"} <= row.keys():
        extra = set(row) - {"prompt", "completion"}
        if extra:
            where.error(n, f"unknown key(s) {', '.join(sorted(extra))}")
        row = {"messages": [{"role": "user", "content": row["prompt"]},
                            {"role": "assistant", "content": row["completion"]}]}
    if "messages" not in row:
        where.error(n, "missing 'messages' (or 'prompt' and 'completion')")
        return None
    extra = set(row) - {"messages"}
    if extra:
        where.error(n, f"unknown key(s) {', '.join(sorted(extra))}")
    msgs = row["messages"]
    if not isinstance(msgs, list) or not msgs:
        where.error(n, "'messages' must be a non-empty list")
        return None
    ok = True
    for i, m in enumerate(msgs, start=1):
        if not isinstance(m, dict):
            where.error(n, f"message {i} is not an object")
            ok = False
            continue
        unknown = set(m) - MESSAGE_KEYS
        if unknown:
            where.error(n, f"message {i}: unknown key(s) {', '.join(sorted(unknown))}")
            ok = False
        if m.get("role") not in ROLES:
            where.error(n, f"message {i}: role {m.get('role')!r} is not one of system, user, assistant")
            ok = False
        problem = _content_problem(m)
        if problem:
            where.error(n, f"message {i} ({m.get('role')}): {problem}")
            ok = False
    if not ok:
        return None
    roles = [m["role"] for m in msgs]
    if "user" not in roles or "assistant" not in roles:
        where.error(n, "needs at least one user and one assistant message")
        return None
    if roles[-1] != "assistant":
        where.error(n, "the last message must be the assistant's (it is what the model learns to write)")
        return None
    return [{"role": m["role"], "content": m["content"]} for m in msgs]


def _decoded_lines(data: bytes, cf: ChatFile) -> Iterator[tuple[int, str]]:
    """Each line decoded on its own, so one stray byte costs its line, not the file. Lines end at "\\n" only,
    as in jsonl.split_lines (JSON leaves U+2028 and U+0085 unescaped inside strings)."""
    offset = 0
    for n, raw in enumerate(data.split(b"\n"), start=1):
        try:
            yield n, raw.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError as e:
            cf.error(n, f"not UTF-8: byte 0x{raw[e.start]:02x} at column {e.start + 1} "
                        f"(byte {offset + e.start} of the file)")
        offset += len(raw) + 1


def read_chat_file(path: Path) -> ChatFile:
    cf = ChatFile(path)
    if not path.is_file():
        cf.error(None, "no such file")
        return cf
    for n, line in _decoded_lines(path.read_bytes(), cf):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            cf.error(n, f"invalid JSON: {e.msg} (column {e.colno})")
            continue
        msgs = _messages(row, cf, n)
        if msgs is not None:
            cf.examples.append(Example(msgs, str(path), n))
    return cf


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def near_duplicates(examples: list[Example], threshold: float = 0.9, limit: int = 5000) -> list[tuple[Example, Example]]:
    """Pairs whose word sets overlap by ``threshold`` (Jaccard) but are not identical. Quadratic, with
    a length filter; beyond ``limit`` examples it is skipped (and the report says so)."""
    if len(examples) > limit:
        return []
    sets = [(e, e.words()) for e in examples]
    sets.sort(key=lambda p: len(p[1]))
    pairs = []
    for i, (a, wa) in enumerate(sets):
        for b, wb in sets[i + 1:]:
            if len(wa) < threshold * len(wb):
                break  # sorted by size: no later set can reach the threshold
            if a.key != b.key and jaccard(wa, wb) >= threshold:
                pairs.append((a, b))
    return pairs
