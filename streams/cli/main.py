"""The ``txscreen`` entry point: the parser and ``main``; each command group registers its own verbs.

Startup errors (a watchlist that does not load, a bad flag, a broker that cannot be reached)
print one clear sentence on stderr and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from schemas.errors import TxscreenError
from streams.cli.version import VersionAction

Handler = Callable[[argparse.Namespace], int]


def _registrars() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Modules that add sub-commands; imported lazily so ``txscreen --help`` stays fast."""
    from streams.cli import allow, broker, demo, dlq, kafka, lists, loadgen, rescreen, review, screen, users

    return [
        screen.register,
        kafka.register,
        lists.register,
        rescreen.register,
        dlq.register,
        broker.register,
        loadgen.register,
        demo.register,
        review.register,
        users.register,
        allow.register,
    ]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="txscreen",
        description="Screen payment events against sanctions watchlists.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    parser.add_argument(
        "--version", action=VersionAction, help="print the version and the matching path, then exit"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in _registrars():
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``txscreen`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    handler: Handler = args.handler
    try:
        return handler(args)
    except TxscreenError as exc:
        print(f"txscreen: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
