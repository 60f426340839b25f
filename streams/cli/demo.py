"""``txscreen demo`` (``make demo``): the whole pipeline on the local broker (:mod:`streams.demo`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from schemas.errors import TxscreenError
from streams.demo import run_demo


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``demo`` to the ``txscreen`` parser."""
    parser = subparsers.add_parser(
        "demo",
        help="stream ~2,000 sample payments through the screener on the local broker; show what was blocked",
        description="Run the txscreen demo.",
    )
    parser.set_defaults(handler=_demo)


def _demo(_args: argparse.Namespace) -> int:
    # The demo talks; librdkafka's transient warnings (a coordinator still loading) would only distract.
    logging.basicConfig(level=logging.ERROR, format="  %(levelname)s %(name)s: %(message)s", force=True)
    try:
        return run_demo(os.environ)
    except TxscreenError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 2
