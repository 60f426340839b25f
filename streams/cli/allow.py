"""``txscreen allow add | approve | revoke | list | export``: the allowlist, through the review service."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import orjson

from schemas.errors import ConfigError
from streams.cli.review import add_client_arguments, client


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``allow`` and its verbs."""
    allow = subparsers.add_parser("allow", help="propose, approve, revoke, list and export allowlist entries")
    verbs = allow.add_subparsers(dest="allow_command", metavar="VERB", required=True)

    add = verbs.add_parser("add", help="propose an entry (it applies once a different approver approved it)")
    add.add_argument(
        "--entity", required=True, metavar="ID", help="the listed entity id whose hits it covers"
    )
    add.add_argument("--name", metavar="TEXT", help="the party name it covers (compared folded)")
    add.add_argument("--account", metavar="TEXT", help="the party account it covers")
    add.add_argument(
        "--scope", choices=("debtor", "creditor", "any"), default="any", help="which party (default any)"
    )
    add.add_argument(
        "--until", required=True, metavar="DATE", help="valid until (a date, UTC, or an RFC 3339 time)"
    )
    add.add_argument("--reason", required=True, metavar="TEXT", help="why")
    add_client_arguments(add)
    add.set_defaults(handler=_add)

    approve = verbs.add_parser("approve", help="approve an entry (an approver other than the proposer)")
    approve.add_argument("entry", metavar="ENTRY")
    approve.add_argument("--reason", default="", metavar="TEXT", help="why (optional)")
    add_client_arguments(approve)
    approve.set_defaults(handler=_approve)

    revoke = verbs.add_parser("revoke", help="revoke an entry: it stops applying at once")
    revoke.add_argument("entry", metavar="ENTRY")
    revoke.add_argument("--reason", required=True, metavar="TEXT", help="why")
    add_client_arguments(revoke)
    revoke.set_defaults(handler=_revoke)

    listing = verbs.add_parser("list", help="list the entries with their status (void ones with the reason)")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    add_client_arguments(listing)
    listing.set_defaults(handler=_list)

    export = verbs.add_parser(
        "export", help="write the approved entries to FILE for txscreen screen --allowlist"
    )
    export.add_argument("file", metavar="FILE", type=Path)
    add_client_arguments(export)
    export.set_defaults(handler=_export)


def _say(answer: dict[str, Any]) -> int:
    entry = answer["entry"]
    void = f" ({entry['void_reason']})" if entry.get("void_reason") else ""
    print(f"entry {entry['entry_id']}: {answer['outcome']}; status {entry['status']}{void}")
    return 0


def _add(args: argparse.Namespace) -> int:
    if not args.name and not args.account:
        raise ConfigError("allow add needs --name or --account.")
    body = {
        "entity_id": args.entity,
        "name": args.name,
        "account": args.account,
        "scope": args.scope,
        "valid_until": args.until,
        "reason": args.reason,
    }
    return _say(client(args).json("POST", "/allowlist", body))


def _approve(args: argparse.Namespace) -> int:
    return _say(client(args).json("POST", f"/allowlist/{args.entry}/approve", {"reason": args.reason}))


def _revoke(args: argparse.Namespace) -> int:
    return _say(client(args).json("POST", f"/allowlist/{args.entry}/revoke", {"reason": args.reason}))


def _list(args: argparse.Namespace) -> int:
    entries = client(args).json("GET", "/allowlist")["entries"]
    if args.json:
        print(orjson.dumps(entries).decode())
        return 0
    print(f"{'ENTRY':<16} {'STATUS':<8} {'ENTITY':<28} {'SCOPE':<9} {'UNTIL':<25} COVERS")
    for e in entries:
        covers = " / ".join(x for x in (e["name"], e["account"]) if x)
        void = f"  [{e['void_reason']}]" if e.get("void_reason") else ""
        print(
            f"{e['entry_id']:<16} {e['status']:<8} {e['entity_id']:<28} {e['scope']:<9} "
            f"{e['valid_until']:<25} {covers}{void}"
        )
    return 0


def _export(args: argparse.Namespace) -> int:
    body = client(args).call("GET", "/allowlist/export").content
    try:
        args.file.write_bytes(body)
    except OSError as exc:
        raise ConfigError(f"cannot write {args.file}: {exc.strerror or exc}.") from exc
    count = body.count(b"\n")
    print(f"exported {count} approved entries to {args.file}")
    return 0
