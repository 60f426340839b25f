"""A list file's first line: the readers that share a suffix (``.csv``) tell their files apart by it."""

from __future__ import annotations

from pathlib import Path

#: A UTF-8 byte order mark, which a first line may begin with.
BOM = b"\xef\xbb\xbf"


def first_line_starts_with(path: Path, prefix: bytes) -> bool:
    """True when the file's first line (a byte order mark left out) starts with ``prefix``; False when the
    file cannot be read (the reader picked later names the error)."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(256)
    except OSError:
        return False
    return first.removeprefix(BOM).startswith(prefix)
