"""Entry point of the Faust engine for Faust's own CLI (``txscreen run --engine faust`` is the other).

Faust's CLI finds the app as the attribute ``app`` of this module::

    TXSCREEN_BOOTSTRAP_SERVERS=kafka:9092 TXSCREEN_WATCHLIST='builtin' \\
        faust -A streams.faust.main worker -l info --web-port 6066

``app`` is created lazily, on first access (PEP 562 module ``__getattr__``), from the ``TXSCREEN_…``
environment variables of :mod:`streams.settings` (plus ``TXSCREEN_WEB_PORT`` and ``TXSCREEN_WEB_HOST``):
importing this module reads nothing. This is the one place where the environment is read outside the
``txscreen`` CLI, because Faust's CLI gives an app no other way in. A list that does not load, a
missing topic or a bad setting prints one sentence on stderr and exits with status 2 before the
worker starts.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from typing import Any

from schemas.errors import TxscreenError
from streams.faust.config import WEB_HOST, WEB_PORT
from streams.settings import worker_settings


@functools.cache
def _app_from_environment() -> Any:
    """The standalone app from ``os.environ`` (exit 2 with one sentence when it cannot be made)."""
    from streams.faust.app import create_app

    environ = os.environ
    empty = argparse.Namespace()
    try:
        settings = worker_settings(empty, environ)
        return create_app(
            settings, web_port=WEB_PORT.value(empty, environ), web_bind=WEB_HOST.value(empty, environ)
        )
    except TxscreenError as exc:
        print(f"txscreen: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def __getattr__(name: str) -> Any:
    """``app``: the standalone app, created on first access (for ``faust -A streams.faust.main``)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _app_from_environment()
