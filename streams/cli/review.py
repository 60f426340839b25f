"""``txscreen review serve | list | show | release | confirm | reject | withdraw``: the service, its client.

``serve`` runs the service (:mod:`streams.review.server`). The other verbs call it over HTTP
(``--server URL``, ``--token`` or ``TXSCREEN_TOKEN``) and exit 0 on success, 2 on a refusal or an
operational failure with the server's one-sentence reason.

``release CASE`` and ``confirm CASE``: the first call proposes; a call by a second, distinct
approver approves and, once enough users agreed (``--approvals``), executes.
"""

from __future__ import annotations

import argparse
import os
from datetime import timedelta
from typing import Any

import orjson

from streams.review.config import SERVE_SETTINGS, SERVER, TOKEN
from streams.settings import WATCHLIST_TOPIC, Setting, add_kafka_arguments, add_watchlist_arguments

#: Every setting of ``review serve`` beyond the Kafka ones, for the README's review table.
REVIEW_TABLE_SETTINGS: tuple[Setting, ...] = (*SERVE_SETTINGS, SERVER, TOKEN)
STATUSES = ("open", "pending", "released", "confirmed")


def add_client_arguments(parser: argparse.ArgumentParser) -> None:
    """``--server`` and ``--token`` (each with its environment variable)."""
    SERVER.add_to(parser)
    TOKEN.add_to(parser)


def client(args: argparse.Namespace) -> Any:
    """The HTTP client of the review service, from ``--server``/``--token`` or the environment."""
    from streams.review.client import ReviewClient

    return ReviewClient(SERVER.value(args, os.environ), TOKEN.value(args, os.environ))


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``review`` and its verbs."""
    review = subparsers.add_parser("review", help="review blocked payments: the service and its client")
    verbs = review.add_subparsers(dest="review_command", metavar="VERB", required=True)

    serve = verbs.add_parser(
        "serve",
        help="run the review service (HTTP JSON API; Kafka is its system of record)",
        description="Serve the review API on --listen: cases rebuilt from the blocked and decisions topics, "
        "four-eyes decisions and allowlist changes written in Kafka transactions.",
    )
    add_kafka_arguments(serve)
    for setting in SERVE_SETTINGS:
        setting.add_to(serve)
    add_watchlist_arguments(serve)
    WATCHLIST_TOPIC.add_to(serve)
    serve.set_defaults(handler=_serve)

    listing = verbs.add_parser("list", help="list the cases (oldest first)")
    listing.add_argument("--status", choices=STATUSES, help="only cases with this status")
    listing.add_argument("--json", action="store_true", help="print a JSON array of the cases")
    add_client_arguments(listing)
    listing.set_defaults(handler=_list)

    show = verbs.add_parser("show", help="show one case: event, hits and every decision")
    show.add_argument("case", metavar="CASE")
    show.add_argument("--json", action="store_true", help="print the case as JSON")
    add_client_arguments(show)
    show.set_defaults(handler=_show)

    for verb, text in (
        ("release", "propose releasing CASE, or approve a release another user proposed"),
        (
            "confirm",
            "propose confirming CASE as a true match, or approve a confirmation another user proposed",
        ),
        (
            "reject",
            "reject the pending proposal on CASE (an approver other than the proposer): back to the queue",
        ),
        ("withdraw", "withdraw your own pending proposal on CASE: back to the queue"),
    ):
        step = verbs.add_parser(verb, help=text)
        step.add_argument("case", metavar="CASE")
        step.add_argument("--reason", required=verb not in {"release", "confirm"}, default="", help="why")
        add_client_arguments(step)
        step.set_defaults(handler=_step, verb=verb)


def _serve(args: argparse.Namespace) -> int:
    from streams.cli.kafka import _kafka
    from streams.review.config import review_settings
    from streams.review.server import serve

    return serve(review_settings(args, os.environ, _kafka(args)))


def _age(seconds: float) -> str:
    return str(timedelta(seconds=int(seconds)))


def _list(args: argparse.Namespace) -> int:
    path = "/cases" + (f"?status={args.status}" if args.status else "")
    cases = client(args).json("GET", path)["cases"]
    if args.json:
        print(orjson.dumps(cases).decode())
        return 0
    print(f"{'CASE':<12} {'STATUS':<10} {'AGE':>10}  {'EVENT':<24} HITS")
    for case in cases:
        hits = ", ".join(dict.fromkeys(h["entity_id"] for h in case["hits"]))
        print(
            f"{case['case_id']:<12} {case['status']:<10} {_age(case['age_seconds']):>10}  "
            f"{case['event_id'] or '-':<24} {hits}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    case = client(args).json("GET", f"/cases/{args.case}")
    if args.json:
        print(orjson.dumps(case, option=orjson.OPT_INDENT_2).decode())
        return 0
    print(
        f"case {case['case_id']}: {case['status']}; event {case['event_id']}; screened {case['screened_at']}"
    )
    print(f"watchlist version {case['watchlist_version']}")
    for hit in case["hits"]:
        print(
            f"  hit {hit['entity_id']} ({hit['entity_name']}): {hit['matched_text']!r} in {hit['field']} "
            f"({hit['rule']})"
        )
    for d in case["decisions"]:
        reason = f": {d['reason']}" if d["reason"] else ""
        print(f"  {d['at']} {d['action']} by {d['actor']} ({', '.join(d['roles'])}){reason}")
    return 0


def _step(args: argparse.Namespace) -> int:
    api = client(args)
    verb: str = args.verb
    action = verb
    if verb in ("release", "confirm"):
        me = api.json("GET", "/users/me")["name"]
        case = api.json("GET", f"/cases/{args.case}")
        proposal = case.get("proposal")
        mine = proposal is not None and proposal["actor"] == me
        same = proposal is not None and proposal["action"] == f"propose-{verb}"
        decided = case["status"] in ("released", "confirmed")
        action = "approve" if decided or (same and not mine) else f"propose-{verb}"
    answer = api.json("POST", f"/cases/{args.case}/decisions", {"action": action, "reason": args.reason})
    outcome = answer["outcome"]
    wait = " (waiting for approval by a different approver)" if outcome == "proposed" else ""
    print(f"case {args.case}: {outcome}{wait}; status {answer['case']['status']}")
    return 0
