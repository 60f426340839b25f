"""What a publish records about each source: the sha256 of its files and its date."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from matchers.sources import BUILTIN, BUILTIN_PATH
from matchers.sources.ofac import EXTRACT_PREFIX


def source_path(src: str) -> Path:
    """The file or folder a ``--watchlist`` SRC reads."""
    if src == BUILTIN:
        return BUILTIN_PATH
    return Path(src.removeprefix(EXTRACT_PREFIX))


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))


def file_sha256(path: Path) -> str:
    """The hex sha256 of one file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def source_sha256(src: str) -> str:
    """The hex sha256 of a source: of the file's bytes, or for a folder of its listing as ``sha256sum``
    prints it (``<sha256>  <path relative to the folder>`` per file, sorted by path, one per line).

    So ``sha256sum FILE`` gives a file source's value, and ``(cd DIR && find . -type f ! -name '.*' |
    sed 's|^./||' | LC_ALL=C sort | xargs sha256sum) | sha256sum`` a folder's.
    """
    path = source_path(src)
    if path.is_file():
        return file_sha256(path)
    lines = "".join(f"{file_sha256(p)}  {p.relative_to(path).as_posix()}\n" for p in _files(path))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def source_date(src: str) -> str | None:
    """When the source's files last changed (the newest modification time, RFC 3339 UTC), or None."""
    files = _files(source_path(src))
    if not files:
        return None
    newest = max(p.stat().st_mtime for p in files)
    return datetime.fromtimestamp(newest, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
