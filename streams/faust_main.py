"""Entry points of the Faust engine: Faust's own CLI, and ``python -m streams.faust_main``.

Faust's CLI finds the app as the attribute ``app`` of this module::

    TXSCREEN_BOOTSTRAP_SERVERS=kafka:9092 TXSCREEN_WATCHLIST='builtin' \\
        faust -A streams.faust_main worker -l info --web-port 6066

``app`` is created lazily, on first access (PEP 562 module ``__getattr__``), from the ``TXSCREEN_…``
environment variables of :mod:`streams.settings` (plus ``TXSCREEN_WEB_PORT``): importing this module
reads nothing. This is the one place where the environment is read outside the ``txscreen`` CLI,
because Faust's CLI gives an app no other way in. A list that does not load, a missing topic or a
bad setting prints one sentence on stderr and exits with status 2 before the worker starts.

``python -m streams.faust_main [txscreen run flags] [--web-port N]`` runs the same app through
:func:`streams.faust_app.run_faust`, as ``txscreen run --engine faust`` will.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from schemas.errors import TxscreenError
from streams.faust_config import WEB_PORT
from streams.lists import add_watchlist_arguments
from streams.settings import add_kafka_arguments, add_worker_arguments, worker_settings


@functools.cache
def _app_from_environment() -> Any:
    """The standalone app from ``os.environ`` (exit 2 with one sentence when it cannot be made)."""
    from streams.faust_app import create_app

    environ = os.environ
    empty = argparse.Namespace()
    try:
        settings = worker_settings(empty, environ)
        return create_app(settings, web_port=WEB_PORT.value(empty, environ))
    except TxscreenError as exc:
        print(f"txscreen: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def __getattr__(name: str) -> Any:
    """``app``: the standalone app, created on first access (for ``faust -A streams.faust_main``)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _app_from_environment()


def build_parser() -> argparse.ArgumentParser:
    """The flags of ``txscreen run`` plus ``--web-port``."""
    parser = argparse.ArgumentParser(
        prog="python -m streams.faust_main",
        description="Run the screening worker as a Faust app (at-least-once).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    add_kafka_arguments(parser)
    add_worker_arguments(parser)
    add_watchlist_arguments(parser)
    WEB_PORT.add_to(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the flags (falling back to ``TXSCREEN_…``), then run the Faust engine until stopped."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from streams.faust_app import run_faust

    try:
        settings = worker_settings(args, os.environ)
        return run_faust(settings, web_port=WEB_PORT.value(args, os.environ))
    except TxscreenError as exc:
        print(f"txscreen: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
