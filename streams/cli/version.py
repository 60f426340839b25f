"""``txscreen --version``: the installed version (one source: the package metadata) and the matching path."""

from __future__ import annotations

import argparse
import importlib.metadata
from collections.abc import Sequence
from typing import Any

from matchers import backend
from schemas.errors import TxscreenError

#: What ``--version`` says when txscreen runs from a checkout that pip has not installed.
NOT_INSTALLED = "unknown (not installed: pip install -e .)"


def version() -> str:
    """txscreen's version, from the installed package's metadata (pyproject.toml's ``version``)."""
    try:
        return importlib.metadata.version("txscreen")
    except importlib.metadata.PackageNotFoundError:
        return NOT_INSTALLED


def matching_path() -> str:
    """Which matching path screens: the native fast path (``matchers._native``) or pure Python, and why."""
    try:
        return backend.engine().description
    except TxscreenError as exc:  # a wrong TXSCREEN_PURE_PYTHON: say so rather than fail --version
        return str(exc)


def version_text() -> str:
    """The line ``txscreen --version`` prints."""
    return f"txscreen {version()}, matching: {matching_path()}"


class VersionAction(argparse.Action):
    """``--version``: print :func:`version_text` and exit (worked out only when asked: --help stays fast)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(version_text())  # on stdout, as argparse's own version action
        parser.exit()
