"""``txscreen topics | produce | consume | run | copy``: the commands that talk to a Kafka cluster.

Every one takes the Kafka flags of :mod:`streams.settings` (``--bootstrap-servers``, the four
topic names, ``--kafka-config``, ``-X``), each falling back to its ``TXSCREEN_…`` environment
variable, read here at the edge and nowhere else.

Exit status of ``run`` and ``copy``: 0 after a clean stop (SIGTERM/SIGINT, ``--until-idle``,
``--max-events``); 2 with one sentence on stderr when the worker cannot start (a watchlist that
does not load, a missing topic, a cluster that does not answer, a bad setting) or must stop (fenced
by another worker, a fatal Kafka error, a Kafka client stuck past its timeouts). In every case the
offsets committed are those of outputs committed with them, so a restart resumes exactly there.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from confluent_kafka.admin import AdminClient

from schemas.errors import BrokerError, ClientStuckError, ConfigError
from streams.cli.files import open_binary
from streams.faust.config import WEB_HOST, WEB_PORT
from streams.kafka.clients import admin_config, check_options, new_client
from streams.kafka.topics import create_topics, delete_topics, partition_counts, require_topics
from streams.metrics.server import METRICS_LISTEN
from streams.settings import (
    BUILD_CACHE,
    FUZZY,
    FUZZY_LISTS,
    KAFKA_SETTINGS,
    REPLAYED_TOPIC,
    WATCHLIST_TOPIC,
    WATCHLISTS,
    WORKER_SETTINGS,
    Guarantee,
    KafkaSettings,
    Setting,
    Topics,
    WorkerSettings,
    add_fuzzy_arguments,
    add_kafka_arguments,
    add_watchlist_arguments,
    add_worker_arguments,
    kafka_settings,
    worker_settings,
)

DEFAULT_PARTITIONS = 6


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the Kafka commands to the ``txscreen`` parser."""
    topics = subparsers.add_parser("topics", help="create or delete the input and output topics")
    verbs = topics.add_subparsers(dest="topics_command", metavar="VERB", required=True)
    create = verbs.add_parser(
        "create",
        help="create the four topics and the replay audit topic (those that exist are left as they are)",
    )
    add_kafka_arguments(create)
    REPLAYED_TOPIC.add_to(create)
    create.add_argument(
        "--partitions",
        type=int,
        default=DEFAULT_PARTITIONS,
        help="partitions of each new topic (default: %(default)s)",
    )
    create.add_argument(
        "--replication-factor",
        type=int,
        default=-1,
        help="replicas of each new topic (default: the broker's default.replication.factor)",
    )
    create.set_defaults(handler=_topics_create)
    delete = verbs.add_parser(
        "delete", help="delete the four topics and the replay audit topic, and every record in them"
    )
    add_kafka_arguments(delete)
    REPLAYED_TOPIC.add_to(delete)
    delete.add_argument("--yes", action="store_true", required=True, help="confirm the deletion")
    delete.set_defaults(handler=_topics_delete)

    produce = subparsers.add_parser(
        "produce",
        help="publish JSON Lines payment events to the input topic (key = event id)",
        description="Publish each line of FILE (or stdin for '-') as one record, malformed ones as they are.",
    )
    produce.add_argument("file", metavar="FILE", help="a JSON Lines file, or - for standard input")
    add_kafka_arguments(produce)
    produce.set_defaults(handler=_produce)

    consume = subparsers.add_parser(
        "consume",
        help="print a topic's committed records as JSON lines (from the start, read_committed)",
    )
    consume.add_argument("topic", metavar="TOPIC", help="the topic to read")
    consume.add_argument("--max", type=int, default=None, metavar="N", help="stop after N records")
    consume.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="stop when no record came for S seconds (default: %(default)s); it also stops at the end",
    )
    add_kafka_arguments(consume)
    consume.set_defaults(handler=_consume)

    run = subparsers.add_parser(
        "run",
        help="run a screening worker in a consumer group (exactly-once by default)",
        description="Consume payment events, screen them in batches and route them to the cleared, "
        "blocked and dead-letter topics, committing the input offsets with the output.",
        epilog="--watchlist may also come from TXSCREEN_WATCHLIST (sources separated by ';').",
    )
    add_kafka_arguments(run)
    add_worker_arguments(run)
    add_watchlist_arguments(run)
    WATCHLIST_TOPIC.add_to(run)
    add_fuzzy_arguments(run)
    ENGINE.add_to(run)
    METRICS_LISTEN.add_to(run)
    WEB_PORT.add_to(run)
    WEB_HOST.add_to(run)
    run.set_defaults(handler=_run)

    copy = subparsers.add_parser(
        "copy",
        help="copy the input topic, UNSCREENED, to another topic with the worker's loop (benchmark baseline)",
        description="Copy the input topic to --output-topic with the worker's loop and no screening. The "
        "copies are unscreened: the cleared, blocked and dead-letter topics are refused.",
    )
    copy.add_argument(
        "--output-topic",
        required=True,
        help="where the unscreened copies go (required; not the cleared, blocked or dead-letter topic)",
        metavar="TOPIC",
    )
    copy.add_argument(
        UNSCREENED_FLAG,
        action="store_true",
        help="allow --output-topic to be the cleared, blocked or dead-letter topic (throwaway topics only)",
    )
    add_kafka_arguments(copy)
    add_worker_arguments(copy)
    copy.set_defaults(handler=_copy)


def _kafka(args: argparse.Namespace) -> KafkaSettings:
    """The Kafka settings, their raw librdkafka options checked before any client connects."""
    kafka = kafka_settings(args, os.environ)
    check_options(kafka)
    return kafka


def _worker(args: argparse.Namespace) -> WorkerSettings:
    """The worker settings, their raw librdkafka options checked before any client connects."""
    settings = worker_settings(args, os.environ)
    check_options(settings.kafka)
    return settings


def _admin(args: argparse.Namespace) -> AdminClient:
    return new_client(AdminClient, admin_config(_kafka(args)))


def _topics_create(args: argparse.Namespace) -> int:
    if args.partitions < 1:
        raise ConfigError(f"--partitions must be at least 1, not {args.partitions}.")
    kafka = _kafka(args)
    names = kafka.topics.managed
    admin = _admin(args)
    created = create_topics(
        admin,
        names,
        partitions=args.partitions,
        replication_factor=args.replication_factor,
        configs=kafka.topics.configs(),
    )
    counts = partition_counts(admin, [name for name in names if name not in created])
    for name in names:
        if name in created:
            print(f"{name}: created ({args.partitions} partitions)")
            continue
        count = counts.get(name)
        kept = f", not {args.partitions}: partitions are not changed" if count != args.partitions else ""
        print(f"{name}: exists ({count} partitions{kept})" if count is not None else f"{name}: exists")
    return 0


def _topics_delete(args: argparse.Namespace) -> int:
    kafka = _kafka(args)
    deleted = delete_topics(_admin(args), kafka.topics.managed)
    for name in kafka.topics.managed:
        print(f"{name}: {'deleted' if name in deleted else 'absent'}")
    return 0


def _produce(args: argparse.Namespace) -> int:
    from streams.kafka.publisher import publish

    kafka = _kafka(args)
    require_topics(_admin(args), [kafka.topics.input])
    stream = open_binary(args.file, "rb")
    try:
        outcome = publish(stream, kafka.topics.input, kafka)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    print(
        f"produced {outcome.sent:,} events to {kafka.topics.input} "
        f"({outcome.sent - outcome.keyed:,} without an id key)",
        file=sys.stderr,
    )
    return 0


def _consume(args: argparse.Namespace) -> int:
    from streams.kafka.reader import format_record, read_topic

    if args.max is not None and args.max < 1:
        raise ConfigError(f"--max must be at least 1, not {args.max}.")
    kafka = _kafka(args)
    count = 0
    for message in read_topic(kafka, args.topic, max_records=args.max, timeout=args.timeout):
        print(format_record(message), flush=False)
        count += 1
    sys.stdout.flush()
    print(f"{count:,} records from {args.topic}", file=sys.stderr)
    return 0


def _exit_if_client_stuck(exc: BrokerError) -> None:
    """Leave at once when librdkafka hangs: a normal exit would wait on the stuck client forever."""
    if isinstance(exc, ClientStuckError):
        print(f"txscreen: error: {exc}", file=sys.stderr, flush=True)
        logging.shutdown()
        os._exit(2)


def _engine(raw: str, where: str) -> str:
    engine = raw.strip().lower()
    if engine not in ENGINES:
        raise ConfigError(f"{where} must be one of {', '.join(ENGINES)}, got {raw!r}")
    return engine


ENGINES = ("kafka", "faust")
ENGINE = Setting(
    "engine",
    "--engine",
    "TXSCREEN_ENGINE",
    "kafka",
    "kafka: the confluent-kafka worker (exactly-once by default); faust: a Faust app (at-least-once, "
    "with a web view on --web-port)",
    parse=_engine,
    metavar="ENGINE",
)


#: Every setting of ``run`` and ``copy``, in the order of the README's configuration table.
TABLE_SETTINGS: tuple[Setting, ...] = (
    *KAFKA_SETTINGS,
    REPLAYED_TOPIC,
    WATCHLISTS,
    WATCHLIST_TOPIC,
    FUZZY,
    FUZZY_LISTS,
    BUILD_CACHE,
    *WORKER_SETTINGS,
    ENGINE,
    METRICS_LISTEN,
    WEB_PORT,
    WEB_HOST,
)


def _run(args: argparse.Namespace) -> int:
    from streams.worker.screener import run_worker

    settings = _worker(args)
    metrics_listen = METRICS_LISTEN.value(args, os.environ)
    if ENGINE.value(args, os.environ) == "faust":
        explicit = args.guarantee is not None or os.environ.get("TXSCREEN_GUARANTEE", "").strip()
        if explicit and settings.guarantee is Guarantee.EXACTLY_ONCE:
            raise ConfigError("--engine faust is at-least-once only; drop --guarantee exactly-once")
        from streams.faust.app import run_faust

        return run_faust(
            settings,
            web_port=WEB_PORT.value(args, os.environ),
            web_bind=WEB_HOST.value(args, os.environ),
            metrics_listen=metrics_listen,
        )
    try:
        run_worker(settings, metrics_listen)
    except BrokerError as exc:
        _exit_if_client_stuck(exc)
        raise
    return 0


#: The flag that lets ``copy`` write to an output topic of the screener (a benchmark's throwaway topics).
UNSCREENED_FLAG = "--i-know-this-is-unscreened"


def copy_destination(args: argparse.Namespace, topics: Topics) -> str:
    """``--output-topic``, unless it is the input or a screener output (ConfigError, unless the flag)."""
    output = args.output_topic.strip()
    if not output:
        raise ConfigError("--output-topic must not be empty.")
    if output == topics.input:
        raise ConfigError(f"--output-topic {output} is the input topic; copy to another topic.")
    kinds = {topic: verdict.value for verdict, topic in topics.by_verdict().items()}
    if output in kinds and not args.i_know_this_is_unscreened:
        raise ConfigError(
            f"txscreen copy writes unscreened events, so it refuses the {kinds[output]} topic {output} "
            f"(give {UNSCREENED_FLAG} only for throwaway benchmark topics)."
        )
    return output


def _copy(args: argparse.Namespace) -> int:
    from streams.worker.copier import run_copier

    settings = _worker(args)
    output = copy_destination(args, settings.kafka.topics)
    try:
        run_copier(settings, output)
    except BrokerError as exc:
        _exit_if_client_stuck(exc)
        raise
    return 0
