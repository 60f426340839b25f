"""End-to-end drains: pre-load an input topic, then drain it with each engine, one at a time, on one broker.

An engine is a process that reads the input topic in a fresh consumer group, from the start, and
writes fresh output topics: the screening worker (``txscreen run``), the pass-through copier
(``txscreen copy``: the same loop, no screening), txscreen's Faust engine, and the quixstreams peer
(:mod:`benchmarks.peer_quix`, in its own virtualenv). Each stops after the pre-loaded count and logs
one line, ``processed N events in S s from the first batch to the last``: its rate is N / S, the
time from its first consumed batch to its last commit (process start, list loading and the group
join are left out, as is the close). Ratios are taken per round between drains of the same round,
then the median over rounds is reported.
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from confluent_kafka.admin import AdminClient

from matchers.sources import DEFAULT_SOURCES, load_watchlists
from streams.kafka.clients import plain_producer_config
from streams.kafka.publisher import KafkaSink
from streams.kafka.topics import create_topics, delete_topics
from streams.loadgen.generator import EventSource, Generated, LoadPlan, generate
from streams.loadgen.synthetic import EventFactory, TrafficProfile
from streams.settings import Guarantee, KafkaSettings, Topics

REPO = Path(__file__).resolve().parent.parent
#: The quixstreams peer's interpreter (``make bench`` builds this virtualenv from benchmarks/peer-quix.txt).
QUIX_PYTHON = REPO / ".venv" / "peers" / "quix" / "bin" / "python"
PARTITIONS = 6
DRAIN_TIMEOUT = 600.0
_SUMMARY = re.compile(r"processed ([\d,]+) events in ([\d,.]+) s from the first batch to the last")


class BenchError(RuntimeError):
    """A benchmark step failed; the message says which and ends with the tail of its log."""


class Kind(StrEnum):
    """What drains the topic."""

    WORKER = "worker"
    COPIER = "copier"
    FAUST = "faust"
    QUIX = "quixstreams"


@dataclass(frozen=True, slots=True)
class Engine:
    """An engine and the delivery guarantee it runs with."""

    kind: Kind
    guarantee: Guarantee = Guarantee.EXACTLY_ONCE

    @property
    def name(self) -> str:
        """``worker``, ``copier-alos``, ``faust``, ``quixstreams``: unique per engine and guarantee."""
        suffix = "-alos" if self.guarantee is Guarantee.AT_LEAST_ONCE and self.kind is not Kind.FAUST else ""
        return f"{self.kind.value}{suffix}"

    @property
    def label(self) -> str:
        """For tables and plots."""
        what = {
            Kind.WORKER: "txscreen run",
            Kind.COPIER: "copier (txscreen copy)",
            Kind.FAUST: "txscreen Faust engine",
            Kind.QUIX: "quixstreams peer",
        }[self.kind]
        return f"{what}, {self.guarantee.value}"


WORKER = Engine(Kind.WORKER)
COPIER = Engine(Kind.COPIER)
WORKER_ALOS = Engine(Kind.WORKER, Guarantee.AT_LEAST_ONCE)
COPIER_ALOS = Engine(Kind.COPIER, Guarantee.AT_LEAST_ONCE)
FAUST = Engine(Kind.FAUST, Guarantee.AT_LEAST_ONCE)
QUIX = Engine(Kind.QUIX)


@dataclass(frozen=True, slots=True)
class Drain:
    """One engine's drain of the input topic in one round."""

    engine: str
    round: int
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        """Events per second from the first batch to the last commit."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


def admin(bootstrap: str) -> AdminClient:
    """An admin client for topic set-up."""
    return AdminClient({"bootstrap.servers": bootstrap})


def fresh_topics(prefix: str) -> Topics:
    """Four topic names nobody used before."""
    tag = f"{prefix}.{uuid.uuid4().hex[:8]}"
    return Topics(input=f"{tag}.in", cleared=f"{tag}.cleared", blocked=f"{tag}.blocked", dlq=f"{tag}.dlq")


def preload(
    bootstrap: str,
    topic: str,
    events: int,
    *,
    seed: int = 1,
    listed_share: float = 0.01,
    profile: TrafficProfile = TrafficProfile.LATIN,
) -> Generated:
    """Produce ``events`` realistic events of a traffic profile (fresh, not repeated) to ``topic``,
    keyed by event id."""
    factory = EventFactory(
        load_watchlists(DEFAULT_SOURCES), seed=seed, listed_share=listed_share, profile=profile
    )
    source = EventSource(factory, events)
    sink = KafkaSink(plain_producer_config(KafkaSettings(bootstrap_servers=bootstrap)), topic)
    return generate(source, sink, LoadPlan(count=events))


def kafka_flags(bootstrap: str, topics: Topics) -> list[str]:
    """The Kafka flags every txscreen command (and the peer) takes."""
    return [
        "--bootstrap-servers", bootstrap,
        "--input-topic", topics.input,
        "--cleared-topic", topics.cleared,
        "--blocked-topic", topics.blocked,
        "--dlq-topic", topics.dlq,
    ]  # fmt: skip


def command(engine: Engine, bootstrap: str, topics: Topics, group: str, events: int) -> list[str]:
    """The command line that drains ``events`` events with ``engine``."""
    common = [*kafka_flags(bootstrap, topics), "--group-id", group, "--max-events", str(events)]
    if engine.kind is Kind.FAUST:
        return [sys.executable, "-m", "benchmarks.faust_drain", *common]
    if engine.kind is Kind.QUIX:
        return [
            str(QUIX_PYTHON),
            "-m",
            "benchmarks.peer_quix",
            *common,
            "--guarantee",
            engine.guarantee.value,
        ]
    # The copier writes to the drain's own throwaway cleared topic, which copy refuses without the flag.
    copy = ["copy", "--output-topic", topics.cleared, "--i-know-this-is-unscreened"]
    verb = ["run"] if engine.kind is Kind.WORKER else copy
    return [
        sys.executable, "-m", "streams.cli", *verb, *common,
        "--guarantee", engine.guarantee.value, "--status-interval", "0", "--until-idle", "60",
    ]  # fmt: skip


def run_logged(argv: Sequence[str], log: Path, timeout: float) -> int:
    """Run ``argv`` in its own session, output to ``log``; killed (and BenchError) on timeout."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env, start_new_session=True
        )
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            stop_group(process)
            raise BenchError(f"{' '.join(argv[:4])} … did not finish within {timeout:.0f} s") from None
        except BaseException:
            stop_group(process)
            raise


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process's session, SIGKILL after 15 s."""
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def parse_summary(path: Path) -> tuple[int, float]:
    """(events, seconds) from the engine's closing ``processed N events in S s …`` line."""
    found = _SUMMARY.findall(path.read_text(errors="replace"))
    if not found:
        raise BenchError(f"no summary line in {path}:\n{tail(path)}")
    events, seconds = found[-1]
    return int(events.replace(",", "")), float(seconds.replace(",", ""))


def drain(
    engine: Engine,
    bootstrap: str,
    input_topic: str,
    events: int,
    *,
    round_no: int,
    logs: Path,
    partitions: int = PARTITIONS,
    timeout: float = DRAIN_TIMEOUT,
) -> Drain:
    """Drain ``events`` events of ``input_topic`` with ``engine`` into fresh outputs (deleted afterwards)."""
    topics = fresh_topics(f"bench.{engine.name}")
    topics = Topics(input_topic, topics.cleared, topics.blocked, topics.dlq)
    outputs = [topics.cleared] if engine.kind is Kind.COPIER else list(topics.outputs)
    client = admin(bootstrap)
    create_topics(client, outputs, partitions=partitions)
    log = logs / f"{engine.name}-{round_no}.log"
    group = f"bench-{engine.name}-{uuid.uuid4().hex[:8]}"
    try:
        status = run_logged(command(engine, bootstrap, topics, group, events), log, timeout)
        if status != 0:
            raise BenchError(f"{engine.name} exited with status {status}:\n{tail(log)}")
        done, seconds = parse_summary(log)
    finally:
        delete_topics(client, outputs)
    if done < events:
        raise BenchError(f"{engine.name} processed {done:,} of {events:,} events:\n{tail(log)}")
    return Drain(engine.name, round_no, done, seconds)


def rounds(
    schedule: Sequence[Sequence[Engine]],
    run: Callable[[Engine, int], Drain],
    *,
    on_error: Callable[[Engine, BenchError], None] | None = None,
) -> list[Drain]:
    """One round per entry of ``schedule`` (the engines of that round); every other round runs them in
    reverse order, so that drift (a neighbour's load, the broker's page cache) cancels out.

    An engine whose drain fails is reported to ``on_error`` (when given, else the error propagates)
    and left out of the later rounds.
    """
    results: list[Drain] = []
    failed: set[str] = set()
    for n, engines in enumerate(schedule, start=1):
        order = list(engines) if n % 2 else list(reversed(engines))
        for engine in order:
            if engine.name in failed:
                continue
            try:
                result = run(engine, n)
            except BenchError as exc:
                if on_error is None:
                    raise
                failed.add(engine.name)
                on_error(engine, exc)
                continue
            results.append(result)
            print(
                f"  round {n}: {engine.name:<16} {result.rate:>10,.0f} events/s ({result.seconds:.2f} s)",
                file=sys.stderr,
                flush=True,
            )
    return results


def median_rate(results: Sequence[Drain], engine: str) -> float | None:
    """The median rate of ``engine`` over its rounds, or None when it has none."""
    rates = [r.rate for r in results if r.engine == engine]
    return statistics.median(rates) if rates else None


def round_ratios(results: Sequence[Drain], numerator: str, denominator: str) -> list[float]:
    """``numerator`` rate / ``denominator`` rate in each round where both ran."""
    by_round: dict[int, dict[str, float]] = {}
    for r in results:
        by_round.setdefault(r.round, {})[r.engine] = r.rate
    return [
        rates[numerator] / rates[denominator]
        for _, rates in sorted(by_round.items())
        if numerator in rates and rates.get(denominator)
    ]


def median_ratio(results: Sequence[Drain], numerator: str, denominator: str) -> float | None:
    """The median over rounds of ``numerator`` / ``denominator``, or None when no round had both."""
    ratios = round_ratios(results, numerator, denominator)
    return statistics.median(ratios) if ratios else None
