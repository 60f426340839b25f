"""``txscreen rescreen --since DURATION | --from TIMESTAMP``: re-screen what was cleared under older lists.

The current version is the newest good one of ``--watchlist-topic`` (or the ``--watchlist`` sources);
see :mod:`streams.worker.rescreener` for what is read, what is written and why it runs exactly once.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from matchers.automaton import NameAutomaton
from schemas.errors import ConfigError, WatchlistError
from streams.kafka.clients import check_options
from streams.lists import load_automaton
from streams.settings import (
    MAX_BATCH,
    WATCHLIST_TOPIC,
    Guarantee,
    KafkaSettings,
    Setting,
    add_kafka_arguments,
    add_watchlist_arguments,
    worker_settings,
)

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(raw: str) -> timedelta:
    """``90m``, ``2h``, ``1d12h``, ``45s``, ``1w``: a positive duration (ConfigError otherwise)."""
    text = raw.strip().lower()
    parts = _DURATION.findall(text)
    if not text or not parts or _DURATION.sub("", text).strip():
        raise ConfigError(f"--since expects a duration such as 30m, 2h or 1d12h, not {raw!r}.")
    seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in parts)
    if seconds <= 0:
        raise ConfigError(f"--since must be more than 0, not {raw!r}.")
    return timedelta(seconds=seconds)


def parse_timestamp(raw: str) -> datetime:
    """An RFC 3339 timestamp with its offset (``2026-11-30T08:00:00Z``); ConfigError otherwise."""
    try:
        at = datetime.fromisoformat(raw.strip().replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise ConfigError(
            f"--from expects an RFC 3339 timestamp with its offset (2026-11-30T08:00:00Z), not {raw!r}."
        )
    return at


def _positive_seconds(raw: str, where: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value <= 3600:
        raise ConfigError(f"{where} must be a number of seconds from 0 to 3600, not {raw!r}.")
    return value


RESCREEN_GROUP = Setting(
    "group_id",
    "--group-id",
    "TXSCREEN_RESCREEN_GROUP_ID",
    "txscreen-rescreen",
    "consumer group of txscreen rescreen: its committed offsets say how far the cleared topic was "
    "re-screened",
    metavar="GROUP",
)
IDLE = Setting(
    "until_idle",
    "--idle",
    "TXSCREEN_RESCREEN_IDLE",
    5.0,
    "stop after this many seconds without a cleared record to read (the end of the topic)",
    parse=_positive_seconds,
    metavar="SECONDS",
)
#: The settings of ``txscreen rescreen`` beyond the Kafka ones, in the order of the README table.
RESCREEN_TABLE_SETTINGS: tuple[Setting, ...] = (RESCREEN_GROUP, IDLE)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``rescreen`` to the ``txscreen`` parser."""
    cmd = subparsers.add_parser(
        "rescreen",
        help="re-screen events cleared under an older list version; new hits go to the blocked topic",
        description="Read the cleared topic from --since/--from to its end (read_committed, own consumer "
        "group, transactions) and re-screen every event cleared under another list version than the current "
        "one. Events the current version blocks go to the blocked topic with the header txscreen-rescreen.",
    )
    window = cmd.add_mutually_exclusive_group(required=True)
    window.add_argument(
        "--since", metavar="DURATION", help="re-screen what was cleared in the last DURATION (2h, 1d)"
    )
    window.add_argument(
        "--from", dest="from_time", metavar="TIMESTAMP", help="re-screen what was cleared from TIMESTAMP on"
    )
    add_kafka_arguments(cmd)
    add_watchlist_arguments(cmd)
    WATCHLIST_TOPIC.add_to(cmd)
    RESCREEN_GROUP.add_to(cmd)
    IDLE.add_to(cmd)
    MAX_BATCH.add_to(cmd)
    cmd.set_defaults(handler=_rescreen)


def current_automaton(
    watchlist_topic: str | None, watchlists: tuple[str, ...], kafka: KafkaSettings
) -> NameAutomaton:
    """The current version: the newest good one on the topic, else the ``--watchlist`` sources."""
    if watchlist_topic is None:
        return load_automaton(watchlists or None)
    from streams.watchlists.topic import read_history

    good = read_history(kafka, watchlist_topic).latest_good()
    if good is None:
        raise WatchlistError(
            f"the watchlist topic {watchlist_topic} holds no usable version; nothing re-screened"
        )
    return NameAutomaton(good[1])


def _rescreen(args: argparse.Namespace) -> int:
    from streams.worker.rescreener import run_rescreen

    now = datetime.now(UTC)
    since = now - parse_duration(args.since) if args.since else parse_timestamp(args.from_time)
    settings = worker_settings(args, os.environ)
    settings = replace(
        settings,
        group_id=RESCREEN_GROUP.value(args, os.environ),
        until_idle=IDLE.value(args, os.environ),
        guarantee=Guarantee.EXACTLY_ONCE,
        instance_id="rescreen",  # a restarted rescreen fences a killed one at once (static member too)
    )
    check_options(settings.kafka)
    automaton = current_automaton(settings.watchlist_topic, settings.watchlists, settings.kafka)
    totals = run_rescreen(settings, automaton, since)
    counts = totals.counts
    print(
        f"rescreen against {automaton.version}: {counts.get('rescreened', 0):,} cleared under an older "
        f"version re-screened, {counts.get('newly-blocked', 0):,} newly blocked, "
        f"{counts.get('allowlisted', 0):,} cleared by the allowlist, "
        f"{counts.get('current', 0):,} already "
        "screened by the current version",
        file=sys.stderr,
    )
    return 0
