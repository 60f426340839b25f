"""``txscreen dlq replay``: the command line of the dead-letter replay (:mod:`streams.dlq.replay`).

Exit status: 0 after the run (or the dry run) ends; 2 with one sentence on stderr for a bad flag, a
missing topic, a cluster that does not answer, or a fatal Kafka error (what committed stays committed:
a second run resumes after it).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from schemas.errors import ConfigError
from streams.dlq.replay import Actor, ReplayPlan, dry_run, run_replay
from streams.dlq.selection import FixCommand, Fixer, FixFile, NoFix, Selection, parse_offsets, parse_time
from streams.settings import (
    BATCH_TIMEOUT,
    INSTANCE_ID,
    MAX_BATCH,
    REPLAYED_TOPIC,
    STATUS_INTERVAL,
    Guarantee,
    Setting,
    WorkerSettings,
    add_kafka_arguments,
    kafka_settings,
)


def _positive_float(raw: str, where: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value < 86_400:
        raise ConfigError(f"{where} must be a number of seconds above 0, not {raw!r}.")
    return value


REPLAY_GROUP = Setting(
    "group_id",
    "--group-id",
    "TXSCREEN_REPLAY_GROUP_ID",
    "txscreen-dlq-replay",
    "consumer group of the replay: its committed offsets say which dead letters were already handled",
    metavar="GROUP",
)
REPLAY_INSTANCE = Setting(
    "instance_id",
    "--instance-id",
    "TXSCREEN_REPLAY_INSTANCE_ID",
    "dlq-replay",
    "static member and transactional.id suffix: a second replay with the same one fences the first",
    parse=INSTANCE_ID.parse,
    metavar="NAME",
)
REPLAY_IDLE = Setting(
    "idle",
    "--idle",
    "TXSCREEN_REPLAY_IDLE",
    3.0,
    "stop when no dead letter came for this many seconds (the topic is drained)",
    parse=_positive_float,
    metavar="SECONDS",
)
REPLAY_ACTOR = Setting(
    "actor",
    "--actor",
    "TXSCREEN_REPLAY_ACTOR",
    None,
    "who replays, recorded in the audit topic; none means the login name",
    metavar="NAME",
)

#: The replay's own settings, as the README's table under *Replaying dead letters* lists them.
REPLAY_TABLE_SETTINGS: Final = (REPLAY_GROUP, REPLAY_INSTANCE, REPLAY_IDLE, REPLAY_ACTOR)


def _count(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {raw!r}")
    return value


def _partition(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a partition number (0 or more), not {raw!r}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``txscreen dlq replay`` to the ``txscreen`` parser."""
    dlq = subparsers.add_parser("dlq", help="work with the dead-letter topic (replay)")
    verbs = dlq.add_subparsers(dest="dlq_command", metavar="VERB", required=True)
    replay = verbs.add_parser(
        "replay",
        help="re-publish chosen dead letters (optionally fixed) to the input topic, exactly once, recorded",
        description="Read the dead-letter topic in the replay group and, in one transaction per batch, "
        "produce each chosen dead letter's raw event (after its fix) to the input topic, an audit record "
        "to the replay audit topic, and the consumed offsets. It never clears anything: the worker "
        "screens the replayed events again.",
    )
    add_kafka_arguments(replay)
    REPLAYED_TOPIC.add_to(replay)
    replay.add_argument(
        "--output-topic", metavar="TOPIC", default=None, help="where replays go (default: the input topic)"
    )
    choose = replay.add_argument_group("choosing dead letters (offsets are those of the dead-letter topic)")
    choose.add_argument(
        "--partition", type=_partition, action="append", metavar="N", help="only this partition (repeatable)"
    )
    choose.add_argument("--offset", metavar="FROM..TO", help="only these offsets (inclusive; FROM.. or ..TO)")
    choose.add_argument(
        "--since", metavar="TIME", help="only dead letters that failed at or after TIME (RFC 3339)"
    )
    choose.add_argument(
        "--until", metavar="TIME", help="only dead letters that failed at or before TIME (RFC 3339)"
    )
    choose.add_argument(
        "--error-contains", metavar="TEXT", help="only dead letters whose error has TEXT (any case)"
    )
    choose.add_argument("--max", type=_count, metavar="N", help="stop after N chosen dead letters")
    fixes = replay.add_mutually_exclusive_group()
    fixes.add_argument(
        "--fixed", metavar="FILE", help="JSON Lines of corrected events, matched by source or by event id"
    )
    fixes.add_argument(
        "--fix-command",
        metavar="CMD",
        help="a shell command: the raw event on stdin, the fixed one on stdout",
    )
    replay.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be replayed (JSON lines); produce and commit nothing",
    )
    for setting in (
        *REPLAY_TABLE_SETTINGS,
        MAX_BATCH,
        BATCH_TIMEOUT,
        STATUS_INTERVAL,
    ):
        setting.add_to(replay)
    replay.set_defaults(handler=_replay)


def selection(args: argparse.Namespace) -> Selection:
    """The chosen dead letters from the flags (ConfigError for a bad range or time)."""
    low, high = parse_offsets(args.offset) if args.offset is not None else (None, None)
    since = parse_time(args.since, "--since") if args.since is not None else None
    until = parse_time(args.until, "--until") if args.until is not None else None
    if since is not None and until is not None and since > until:
        raise ConfigError("--since is after --until.")
    if args.error_contains is not None and not args.error_contains.strip():
        raise ConfigError("--error-contains must not be empty.")
    return Selection(
        partitions=frozenset(args.partition) if args.partition else None,
        low=low,
        high=high,
        since=since,
        until=until,
        error_contains=args.error_contains,
        max=args.max,
    )


def fixer(args: argparse.Namespace) -> Fixer:
    """The fix the flags ask for: a file, a command, or none."""
    if args.fixed is not None:
        return FixFile.load(Path(args.fixed).expanduser())
    if args.fix_command is not None:
        if not args.fix_command.strip():
            raise ConfigError("--fix-command must not be empty.")
        return FixCommand(args.fix_command)
    return NoFix()


#: Batch size with ``--fix-command`` unless ``--max-batch`` says otherwise: one process per dead letter is
#: slow, and a batch must be fixed well within the consumer's max.poll.interval.ms (300 s).
FIX_COMMAND_BATCH: Final = 100


def _max_batch(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    given = getattr(args, MAX_BATCH.name, None) is not None or bool(
        environ.get(MAX_BATCH.env or "", "").strip()
    )
    if args.fix_command is not None and not given:
        return FIX_COMMAND_BATCH
    value: int = MAX_BATCH.value(args, environ)
    return value


def plan(args: argparse.Namespace, environ: Mapping[str, str]) -> ReplayPlan:
    """The replay run the flags describe."""
    kafka = kafka_settings(args, environ)
    settings = WorkerSettings(
        kafka=kafka,
        group_id=REPLAY_GROUP.value(args, environ),
        instance_id=REPLAY_INSTANCE.value(args, environ),
        guarantee=Guarantee.EXACTLY_ONCE,
        max_batch=_max_batch(args, environ),
        batch_timeout=BATCH_TIMEOUT.value(args, environ),
        status_interval=STATUS_INTERVAL.value(args, environ),
        until_idle=REPLAY_IDLE.value(args, environ),
    )
    return ReplayPlan(
        settings=settings,
        selection=selection(args),
        fixer=fixer(args),
        output=args.output_topic or kafka.topics.input,
        actor=Actor.here(REPLAY_ACTOR.value(args, environ)),
    )


def _replay(args: argparse.Namespace) -> int:
    chosen = plan(args, os.environ)
    if args.dry_run:
        dry_run(chosen)
    else:
        run_replay(chosen)
    return 0
