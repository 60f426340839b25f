"""``txscreen lists``: the command group of the list verbs (``fetch`` here; ``publish`` and ``status``
join it from the live-lists work)."""

from __future__ import annotations

import argparse

from streams.cli.lists_fetch import add_fetch_verb


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``txscreen lists`` and its verbs to the ``txscreen`` parser."""
    lists = subparsers.add_parser("lists", help="fetch the official list files")
    verbs = lists.add_subparsers(dest="lists_command", metavar="VERB", required=True)
    add_fetch_verb(verbs)
