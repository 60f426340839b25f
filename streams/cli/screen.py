"""``txscreen screen`` (a JSON Lines file through the screener) and ``txscreen check`` (one string).

Both load the watchlists first (``--watchlist``, see :mod:`streams.lists`): a list that does not
load stops the command before any input is opened. What was loaded and the progress bar go to
stderr; stdout carries only the result (the run summary, or the hits).

Exit status: 0 when the command did its job, whatever the verdicts (blocked events and dead
letters are results, not failures); 2 on an operational failure (a list that does not load, a
missing input, an output folder that cannot be written, a bad option), with one sentence on
stderr. ``check --fail-on-hit`` exits 1 when the text hits, for scripts.

``screen`` options fall back to environment variables, read here and nowhere else:

=======================  ============================  ===========
flag                     environment variable          default
=======================  ============================  ===========
``--out``                ``TXSCREEN_OUT_DIR``          (required)
``--batch-size``         ``TXSCREEN_BATCH_SIZE``       2000
``--max-event-bytes``    ``TXSCREEN_MAX_EVENT_BYTES``  1048576
``--threads``            ``TXSCREEN_THREADS``          2
=======================  ============================  ===========
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import orjson

from matchers.policy import HitRule
from matchers.screening import check_text
from schemas.errors import ConfigError
from schemas.events import MAX_EVENT_BYTES, SCREENED_FIELDS
from schemas.records import Hit, timestamp
from streams.file_runner import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_THREADS,
    FileRunSettings,
    RunSummary,
    check_input,
    run_file,
)
from streams.lists import load_automaton
from streams.settings import add_fuzzy_arguments, add_watchlist_arguments, fuzzy_choice, watchlist_sources

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``screen`` and ``check`` to the ``txscreen`` parser."""
    screen = subparsers.add_parser(
        "screen",
        help="screen a JSON Lines file (or stdin) into cleared, blocked and dead-letter files",
        description=(
            "Screen payment events, one JSON object a line, into DIR/cleared.jsonl, DIR/blocked.jsonl "
            "and DIR/dlq.jsonl. Blank lines are skipped. Prints a summary on stdout; exits 0 even "
            "when events are blocked or dead-lettered, 2 when the lists, the input or DIR fail."
        ),
    )
    screen.add_argument("input", metavar="INPUT", help="a JSON Lines file, or - for standard input")
    screen.add_argument(
        "--out", metavar="DIR", type=Path, help="output folder, created if missing (env TXSCREEN_OUT_DIR)"
    )
    screen.add_argument(
        "--batch-size",
        metavar="N",
        type=int,
        help=f"lines screened per batch (env TXSCREEN_BATCH_SIZE; default {DEFAULT_BATCH_SIZE})",
    )
    screen.add_argument(
        "--max-event-bytes",
        metavar="N",
        type=int,
        help=f"longer lines are dead-lettered (env TXSCREEN_MAX_EVENT_BYTES; default {MAX_EVENT_BYTES})",
    )
    screen.add_argument(
        "--threads",
        type=int,
        choices=(1, 2),
        help="2: the next batch is triaged on a second thread while this one is finished (native engine "
        f"only); 1: one thread (env TXSCREEN_THREADS; default {DEFAULT_THREADS})",
    )
    screen.add_argument(
        "--no-progress", action="store_true", help="no progress bar (shown only for a file on a terminal)"
    )
    screen.add_argument(
        "--allowlist",
        metavar="FILE",
        type=Path,
        help="approved allowlist entries exported by `txscreen allow export`: an event whose every hit an "
        "active entry covers is cleared",
    )
    add_watchlist_arguments(screen)
    add_fuzzy_arguments(screen)
    screen.set_defaults(handler=_screen)

    check = subparsers.add_parser(
        "check",
        help="screen one string as one event field and show the hits (for analysts)",
        description=(
            "Screen TEXT as if it were the field NAME of a payment dated --at, and print the hits. "
            "Whole-field names (weak aliases, short names, vessels, aircraft) only hit in debtor.name "
            "and creditor.name, and only when TEXT is the whole name. Exits 0 with or without hits."
        ),
    )
    check.add_argument("text", metavar="TEXT", help="the text to screen")
    check.add_argument(
        "--field",
        metavar="NAME",
        choices=SCREENED_FIELDS,
        default="remittance",
        help=f"screen TEXT as this field: {', '.join(SCREENED_FIELDS)} (default: %(default)s)",
    )
    check.add_argument(
        "--at",
        metavar="DATE",
        help="payment date (the event's created_at), YYYY-MM-DD (UTC midnight) or an RFC 3339 timestamp "
        "with offset (default: now)",
    )
    check.add_argument(
        "--screened-at",
        metavar="DATE",
        help="screening time, in the same forms as --at (default: now); an entity hits when in force "
        "at --at or at --screened-at",
    )
    check.add_argument("--json", action="store_true", help="print the hits as JSON")
    check.add_argument("--fail-on-hit", action="store_true", help="exit 1 when TEXT hits")
    add_watchlist_arguments(check)
    add_fuzzy_arguments(check)
    check.set_defaults(handler=_check)


def settings_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> FileRunSettings:
    """The ``screen`` settings from the flags, falling back to ``TXSCREEN_*`` variables in ``environ``."""
    out = args.out if args.out is not None else environ.get("TXSCREEN_OUT_DIR")
    if not out:
        raise ConfigError("screen needs an output folder: give --out DIR or set TXSCREEN_OUT_DIR")
    return FileRunSettings(
        input=args.input,
        out_dir=Path(out),
        batch_size=_int_setting(args.batch_size, environ, "TXSCREEN_BATCH_SIZE", DEFAULT_BATCH_SIZE),
        max_event_bytes=_int_setting(
            args.max_event_bytes, environ, "TXSCREEN_MAX_EVENT_BYTES", MAX_EVENT_BYTES
        ),
        threads=_int_setting(args.threads, environ, "TXSCREEN_THREADS", DEFAULT_THREADS),
    )


def _int_setting(flag: int | None, environ: Mapping[str, str], variable: str, default: int) -> int:
    if flag is not None:
        return flag
    text = environ.get(variable)
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{variable} must be a whole number, got {text!r}") from None


def _screen(args: argparse.Namespace) -> int:
    settings = settings_from_args(args, os.environ)
    check_input(settings.input)
    automaton = load_automaton(watchlist_sources(args, os.environ), fuzzy=fuzzy_choice(args, os.environ))
    allowlist = None
    if args.allowlist is not None:
        from matchers.allowlist import entity_hashes
        from streams.allowlist import Allowlist, read_export

        allowlist = Allowlist(read_export(args.allowlist), entity_hashes(automaton.watchlists))
    progress = sys.stderr if not args.no_progress and sys.stderr.isatty() else None
    summary = run_file(settings, automaton, progress=progress, allowlist=allowlist)
    print(format_summary(summary))
    return 0


def format_summary(summary: RunSummary) -> str:
    """The lines ``screen`` prints: what was screened, how fast, and where each verdict went."""
    source = "stdin" if summary.input == "-" else summary.input
    lines = [
        f"screened {summary.events:,} events from {source} in {summary.elapsed_seconds:.2f} s "
        f"({summary.events_per_second:,.0f} events/s) against watchlist {summary.watchlist_version}",
        f"  cleared        {summary.cleared:>12,}  {summary.outputs.cleared}",
        f"  blocked        {summary.blocked:>12,}  {summary.outputs.blocked}",
        f"  dead-lettered  {summary.dead_lettered:>12,}  {summary.outputs.dlq}",
    ]
    if summary.skipped:
        lines.append(f"  blank lines    {summary.skipped:>12,}  skipped")
    return "\n".join(lines)


def parse_at(text: str, flag: str = "--at") -> datetime:
    """A ``--at`` value: ``YYYY-MM-DD`` (midnight UTC) or an RFC 3339 timestamp with its offset."""
    problem = f"{flag} must be a date YYYY-MM-DD or an RFC 3339 timestamp with an offset, got {text!r}"
    try:
        if _DATE.fullmatch(text):
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        at = datetime.fromisoformat(text.upper())
    except ValueError:
        raise ConfigError(problem) from None
    if at.tzinfo is None:
        raise ConfigError(problem)
    return at


def _check(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    at = parse_at(args.at) if args.at else now
    screened_at = parse_at(args.screened_at, "--screened-at") if args.screened_at else now
    automaton = load_automaton(watchlist_sources(args, os.environ), fuzzy=fuzzy_choice(args, os.environ))
    hits = check_text(args.text, automaton, field_name=args.field, at=at, screened_at=screened_at)
    blocking = [h for h in hits if h.rule != HitRule.CORROBORATING]
    if args.json:
        document = {
            "text": args.text,
            "field": args.field,
            "at": timestamp(at),
            "screened_at": timestamp(screened_at),
            "watchlist_version": automaton.version,
            "hits": msgspec.to_builtins(hits),
        }
        print(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
    else:
        when = f"at {timestamp(at)}" + (f", screened at {timestamp(screened_at)}" if args.screened_at else "")
        weak = len(hits) - len(blocking)
        alone = (
            f", {weak} weak-alias {'match' if weak == 1 else 'matches'} corroborating only" if weak else ""
        )
        print(f"{args.text!r} as {args.field} {when}: {_count(len(blocking))}{alone}")
        if hits:
            print(format_hits(hits))
    return 1 if blocking and args.fail_on_hit else 0


def _count(hits: int) -> str:
    return "no hits" if not hits else "1 hit" if hits == 1 else f"{hits} hits"


def _rule(hit: Hit, hits: Sequence[Hit]) -> str:
    """The RULE column: the rule, a fuzzy hit's distance, and a weak alias that corroborates nothing."""
    if hit.rule == HitRule.FUZZY:
        return f"fuzzy (distance {hit.distance})"
    if hit.rule == HitRule.CORROBORATING:
        hit_entities = {h.entity_id for h in hits if h.rule != HitRule.CORROBORATING}
        return "corroborating" if hit.entity_id in hit_entities else "corroborating only"
    return hit.rule


_HEADER = (
    "ENTITY",
    "LIST",
    "ENTITY NAME",
    "LISTED AS",
    "MATCHED TEXT",
    "AT",
    "RULE",
    "IN FORCE AT",
    "PROGRAMS",
)


def format_hits(hits: Sequence[Hit]) -> str:
    """A plain-text table of hits, columns aligned for wide (CJK) characters too."""
    rows = [_HEADER] + [
        (
            h.entity_id,
            h.list_id,
            h.entity_name,
            h.matched_name,
            h.matched_text,
            f"{h.start}-{h.end}",
            _rule(h, hits),
            h.in_force_at,
            ", ".join(h.programs) or "-",
        )
        for h in hits
    ]
    widths = [max(_width(row[c]) for row in rows) for c in range(len(_HEADER))]
    return "\n".join(
        "  ".join(
            cell + " " * (width - _width(cell)) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    )


def _width(text: str) -> int:
    """Terminal columns of ``text``: wide and full-width characters take two, combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text
    )
