"""Opening a command's file argument, where ``-`` means standard input or output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO, Literal

from schemas.errors import ConfigError


def open_binary(name: str, mode: Literal["rb", "wb"]) -> BinaryIO:
    """``name`` opened in ``mode`` (``-``: stdin or stdout); ConfigError in one sentence if it cannot be."""
    reading = mode == "rb"
    if name == "-":
        return sys.stdin.buffer if reading else sys.stdout.buffer
    try:
        return Path(name).open(mode)
    except OSError as exc:
        raise ConfigError(f"cannot {'read' if reading else 'write'} {name}: {exc.strerror or exc}.") from exc
