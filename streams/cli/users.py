"""``txscreen users add | remove``: the users file of the review service (token hashes only)."""

from __future__ import annotations

import argparse
from pathlib import Path

from streams.review.users import Role, add_user, remove_user


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``users`` and its verbs."""
    users = subparsers.add_parser("users", help="add or remove users of the review service")
    verbs = users.add_subparsers(dest="users_command", metavar="VERB", required=True)
    add = verbs.add_parser(
        "add",
        help="add a user (or give an existing one new roles and a new token); prints the token once, last",
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument(
        "--role", action="append", required=True, choices=[r.value for r in Role], help="a role (repeatable)"
    )
    add.add_argument(
        "--users", required=True, type=Path, metavar="FILE", help="the users file (created if missing)"
    )
    add.set_defaults(handler=_add)
    remove = verbs.add_parser("remove", help="remove a user")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument("--users", required=True, type=Path, metavar="FILE", help="the users file")
    remove.set_defaults(handler=_remove)


def _add(args: argparse.Namespace) -> int:
    token = add_user(args.users, args.name, args.role)
    print(
        f"added {args.name} ({', '.join(sorted(set(args.role)))}) to {args.users}; "
        "the token, shown only once:"
    )
    print(token)
    return 0


def _remove(args: argparse.Namespace) -> int:
    remove_user(args.users, args.name)
    print(f"removed {args.name} from {args.users}")
    return 0
