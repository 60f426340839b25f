"""``txscreen loadgen``: the load generator's flags and environment, turned into a run of
:func:`streams.loadgen.generator.generate` to the input topic or a JSON Lines file."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from streams.cli.files import open_binary
from streams.lists import chosen_sources
from streams.loadgen.generator import (
    DEFAULT_POOL,
    PRODUCED_AT_HEADER,
    EventSource,
    FileSink,
    LoadPlan,
    LoadProgress,
    Sink,
    generate,
)
from streams.settings import add_kafka_arguments, add_watchlist_arguments, watchlist_sources

if TYPE_CHECKING:
    from streams.loadgen.synthetic import EventFactory


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a share from 0 to 1, not {text!r}")
    return value


def _positive(kind: type[int] | type[float]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be a number above 0, not {text!r}")
        return value

    return parse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``loadgen`` to the ``txscreen`` parser."""
    parser = subparsers.add_parser(
        "loadgen",
        help="generate realistic payment events at a target rate, to the input topic or JSON Lines",
        description="Generate synthetic payment events (a share carrying listed names, a share malformed) "
        "to the input topic, keyed by event id, or with --out to a JSON Lines file.",
    )
    parser.add_argument("--rate", type=_positive(float), metavar="N", help="events per second (default: max)")
    parser.add_argument("--count", type=_positive(int), metavar="N", help="stop after N events")
    parser.add_argument("--duration", type=_positive(float), metavar="S", help="stop after S seconds")
    parser.add_argument(
        "--listed-share",
        type=_share,
        default=0.01,
        metavar="P",
        help="share of events carrying a listed name (default: %(default)s)",
    )
    parser.add_argument(
        "--malformed-share",
        type=_share,
        default=0.0,
        metavar="P",
        help="share of malformed events (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: %(default)s)")
    parser.add_argument(
        "--profile",
        choices=["latin", "multilingual"],
        default="latin",
        help="script mix: latin (mostly ASCII, names as payment rails transliterate them) or multilingual "
        "(about 40%% of party and remittance texts in Cyrillic, Greek, Arabic, Persian, Hebrew, Han, Kana, "
        "Hangul, Devanagari or Thai, the rest Latin with accents) (default: %(default)s)",
    )
    parser.add_argument(
        "--pool",
        type=_positive(int),
        default=DEFAULT_POOL,
        metavar="N",
        help="distinct events generated up front; later events repeat them under new ids "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="write JSON Lines to FILE (- for stdout) instead of producing to the input topic",
    )
    parser.add_argument(
        "--produced-at-header",
        action="store_true",
        help=f"add header {PRODUCED_AT_HEADER} (produce time, ns since the epoch) to each record",
    )
    add_kafka_arguments(parser)
    add_watchlist_arguments(parser)
    parser.set_defaults(handler=_loadgen)


def _factory(args: argparse.Namespace) -> EventFactory:
    from matchers.sources import load_watchlists
    from streams.loadgen.synthetic import EventFactory, TrafficProfile

    sources = chosen_sources(watchlist_sources(args, os.environ))
    return EventFactory(
        load_watchlists(sources),
        seed=args.seed,
        listed_share=args.listed_share,
        malformed_share=args.malformed_share,
        profile=TrafficProfile(args.profile),
    )


@contextlib.contextmanager
def _open_sink(args: argparse.Namespace) -> Iterator[tuple[Sink, str]]:
    """The sink and what to call it: a JSON Lines file (closed afterwards) or the input topic."""
    if args.out is not None:
        stream = open_binary(args.out, "wb")
        try:
            yield FileSink(stream), "standard output" if args.out == "-" else args.out
        finally:
            if stream is not sys.stdout.buffer:
                stream.close()
        return
    from confluent_kafka.admin import AdminClient

    from streams.kafka.clients import admin_config, new_client, plain_producer_config
    from streams.kafka.publisher import KafkaSink
    from streams.kafka.topics import require_topics
    from streams.settings import kafka_settings

    kafka = kafka_settings(args, os.environ)
    topic = kafka.topics.input
    require_topics(new_client(AdminClient, admin_config(kafka)), [topic])
    yield KafkaSink(plain_producer_config(kafka), topic, produced_at_header=args.produced_at_header), topic


def _loadgen(args: argparse.Namespace) -> int:
    plan = LoadPlan(rate=args.rate, count=args.count, duration=args.duration)
    progress = (
        LoadProgress(sys.stderr, count=plan.count, duration=plan.duration) if sys.stderr.isatty() else None
    )
    with _open_sink(args) as (sink, name):  # settings and topic checked before the lists load
        pool = min(args.pool, args.count) if args.count else args.pool
        source = EventSource(_factory(args), pool)
        done = generate(source, sink, plan, progress=progress)
    stopped = " (interrupted)" if done.interrupted else ""
    print(
        f"loadgen: {done.events:,} events ({done.listed:,} listed, {done.malformed:,} malformed) to {name} "
        f"in {done.seconds:.2f} s ({done.rate:,.0f} events/s){stopped}",
        file=sys.stderr,
    )
    return 0
