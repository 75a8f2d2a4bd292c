"""Whether a file changed since it was read, without reading it again: its inode, modification time and size.
A rename over it (how ragtune writes its files) changes the inode; an edit in place, the time or the size."""

from __future__ import annotations

from pathlib import Path


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """The file's stamp; None while it does not exist."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size
