"""Walk the paths a user names, pick files by glob, and give each document a stable id."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ragtune.documents.loaders import Problem, loader_for


@dataclass
class SourceFile:
    path: Path
    doc_id: str  # the root's name plus the path below it: stable when the project moves


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(Path(rel).name, p) for p in patterns)


def discover(paths: Sequence[Path], include: Sequence[str] = (), exclude: Sequence[str] = ()
             ) -> Iterator[SourceFile | Problem]:
    for root in paths:
        if not root.exists():
            yield Problem(str(root), "no such file or directory")
            continue
        if root.is_file():
            candidates = [(root, root.name)]
        else:
            candidates = [(p, f"{root.resolve().name}/{p.relative_to(root).as_posix()}")
                          for p in sorted(root.rglob("*"))
                          if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)]
        for path, doc_id in candidates:
            rel = doc_id.split("/", 1)[-1]
            if include and not _matches(rel, include):
                continue
            if exclude and _matches(rel, exclude):
                continue
            if loader_for(path) is None:
                if root.is_file():
                    yield Problem(str(path), f"unsupported file type {path.suffix or '(none)'!r}")
                continue
            yield SourceFile(path, doc_id)
