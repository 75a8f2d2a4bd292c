"""Walk the paths a user names, pick files by glob, and name each file's possible document ids."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ragtune.documents.loaders import Problem, loader_for, unsupported_type


@dataclass(frozen=True)
class SourceFile:
    path: Path  # resolved: the file itself, whichever path or symlink reached it
    names: tuple[str, ...]
    """Ids the file's document may take, most readable first: the named folder plus the path below it
    (a named file: its name), then with ever more parent folders, last the absolute path. Ingest gives
    it the first one no other file holds (rag/doc_ids.py)."""

    @property
    def doc_id(self) -> str:
        return self.names[0]


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(Path(rel).name, p) for p in patterns)


def _names(path: Path, first: int) -> tuple[str, ...]:
    """``path`` is absolute; the first name is its last ``first`` parts, each next one a folder more."""
    parts = path.parts
    return (*("/".join(parts[-k:]) for k in range(first, len(parts))), path.as_posix())


def _walk(root: Path) -> Iterator[Path]:
    """Files below ``root``, hidden ones skipped. Symlinked folders are followed (os.walk alone would
    loop forever on a link to an ancestor): a folder already walked, by its real path, is not
    walked again."""
    walked: set[str] = set()
    for folder, subfolders, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in walked:
            subfolders[:] = []
            continue
        walked.add(real)
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder) / name


def discover(paths: Sequence[Path], include: Sequence[str] = (), exclude: Sequence[str] = ()
             ) -> Iterator[SourceFile | Problem]:
    """``paths`` are absolute. A file reached twice (named inside a named folder, or through a
    symlink) is given once."""
    given: set[Path] = set()
    for root in paths:
        if not root.exists():
            yield Problem(str(root), "no such file or directory")
            continue
        if root.is_file():
            candidates = [(root, root.name, _names(root, 1))]
        else:
            candidates = []
            for p in _walk(root):
                relative = p.relative_to(root)
                candidates.append((p, relative.as_posix(), _names(p, len(relative.parts) + 1)))
        for path, rel, names in candidates:
            if include and not _matches(rel, include):
                continue
            if exclude and _matches(rel, exclude):
                continue
            if not path.is_file():
                yield Problem(str(path), "broken symbolic link")
                continue
            if loader_for(path) is None:
                if root.is_file():
                    yield unsupported_type(path)
                continue
            real = path.resolve()
            if real not in given:
                given.add(real)
                yield SourceFile(real, names)
