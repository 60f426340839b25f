"""Latency at a fixed offered load: ``txscreen loadgen --rate R`` feeding a running ``txscreen run``.

Per run: fresh topics; the worker starts and joins its group; then the load generator produces
``R × duration`` events at ``R`` events/s while the worker screens them, and a reader in this
process follows the three output topics (read_committed, as a downstream consumer); the worker
stops once it has processed them all. Each worker latency profile (``--latency throughput``, the
default, and ``--latency low``) runs at the same offered loads.

**Method.** An event's latency runs from the moment it is *in Kafka* to the moment its output is
*visible to a read_committed consumer*: the input topic keeps ``LogAppendTime`` timestamps (the
broker's clock when it appended the event; the load generator's own ``linger.ms`` is its business,
not the screener's), and the reader stamps each output record with this machine's clock when it
receives it, so with exactly-once the transaction commit is inside the figure. It spans the worker's
fetch, its consume wait (``--batch-timeout``: up to 0.1 s for a batch to fill under the throughput
profile; only for the first event under the low profile), screening, the wait for the commit in
flight before it, its own produce and commit, and the reader's fetch (a few ms: it asks every 5 ms).
The first ``warmup`` seconds of events are left out (the worker's first batches warm its caches).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import NewTopic

from benchmarks.drains import (
    PARTITIONS,
    REPO,
    BenchError,
    admin,
    fresh_topics,
    kafka_flags,
    run_logged,
    stop_group,
    tail,
)
from streams.kafka.reader import read_topic
from streams.kafka.topics import create_topics, delete_topics
from streams.loadgen.synthetic import TrafficProfile
from streams.settings import Guarantee, KafkaSettings, Latency

JOIN_TIMEOUT = 120.0
#: Drains of the maximum-rate measure when the latency step runs alone (the suite uses its end-to-end median).
MAX_RATE_ROUNDS = 3
#: Seconds of the unrecorded run before the runs of the latency step alone. A fresh broker's transaction and
#: group coordinators run cold: the first run measured p50/p99 859/2123 ms at 45,500 events/s where the
#: suite, whose latency runs follow one another on a broker its drains and earlier runs warmed, measured
#: 24/115 ms on the same machine.
WARM_UP_SECONDS = 15.0
_LOADGEN_LINE = "loadgen: "


@dataclass(frozen=True, slots=True)
class LatencyRun:
    """Latency percentiles (milliseconds) of one run at one offered load."""

    guarantee: str
    profile: str
    """The worker's ``--latency`` profile."""
    share: float
    """Offered load as a share of the measured maximum worker rate."""
    offered_rate: float
    achieved_rate: float
    """What the load generator actually sent, events/s."""
    events: int
    measured: int
    """Events in the percentiles (after the warm-up)."""
    p50_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    p50_produced_ms: float = 0.0
    """Up to the worker's ``produce`` call of the output (its CreateTime): the commit left out."""
    p99_produced_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """For the JSON report."""
        return asdict(self)


def timestamps(bootstrap: str, topics: Iterable[str]) -> dict[bytes, int]:
    """Key → record timestamp (ms) over every committed record of ``topics``."""
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    found: dict[bytes, int] = {}
    for topic in topics:
        for message in read_topic(kafka, topic, timeout=30.0):
            key = message.key()
            if key is not None:
                found[key] = message.timestamp()[1]
    return found


class Arrivals(threading.Thread):
    """Follows output topics as a read_committed consumer; key → when it was received (ms, this clock)."""

    def __init__(self, bootstrap: str, topics: Iterable[str], partitions: int) -> None:
        super().__init__(name="latency-reader", daemon=True)
        self.seen: dict[bytes, int] = {}
        #: key → the output record's CreateTime (ms): when the worker produced it, before its commit
        self.produced: dict[bytes, int] = {}
        self.done = threading.Event()
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"bench-latency-reader-{uuid.uuid4().hex[:8]}",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 5,
            }
        )
        self._consumer.assign(
            [TopicPartition(t, p, OFFSET_BEGINNING) for t in topics for p in range(partitions)]
        )

    def run(self) -> None:
        consumer, seen, produced = self._consumer, self.seen, self.produced
        try:
            while not self.done.is_set():
                # consume(n, t) waits for n records or all of t: wait for one, then take what is there
                messages = consumer.consume(1, 0.05)
                if not messages:
                    continue
                messages += consumer.consume(100_000, 0)
                now = time.time_ns() // 1_000_000
                for message in messages:
                    key = message.key()
                    if key is not None and message.error() is None and key not in seen:
                        seen[key] = now
                        produced[key] = message.timestamp()[1]
        finally:
            consumer.close()

    def wait_for(self, count: int, timeout: float) -> None:
        """Until ``count`` outputs were seen or ``timeout`` seconds passed; then stop."""
        deadline = time.monotonic() + timeout
        while len(self.seen) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        self.done.set()
        self.join(10)


def _wait_for_line(log: Path, text: str, process: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise BenchError(f"the worker exited before it was {text}:\n{tail(log)}")
        time.sleep(0.1)
    raise BenchError(f"the worker was not {text} within {timeout:.0f} s:\n{tail(log)}")


def latency_run(
    bootstrap: str,
    guarantee: Guarantee,
    share: float,
    rate: float,
    duration: float,
    *,
    logs: Path,
    warmup: float = 2.0,
    partitions: int = PARTITIONS,
    profile: Latency = Latency.THROUGHPUT,
    worker_args: Sequence[str] = (),
    traffic: TrafficProfile = TrafficProfile.LATIN,
) -> LatencyRun:
    """One run at ``rate`` events/s for ``duration`` seconds (see the module docstring).

    ``worker_args`` go to the worker's command line after the benchmark's own (``-X producer.linger.ms=0``
    to try an option, ``-v`` to get its per-batch timings); ``traffic`` is the load generator's profile.
    """
    import subprocess

    topics = fresh_topics("bench.latency")
    client = admin(bootstrap)
    appended = NewTopic(topics.input, partitions, config={"message.timestamp.type": "LogAppendTime"})
    for future in client.create_topics([appended]).values():
        future.result()
    create_topics(client, topics.outputs, partitions=partitions)
    count = max(1, int(rate * duration))
    tag = f"{guarantee.value}-{profile.value}-{round(share * 100)}"
    worker_log, loadgen_log = logs / f"latency-worker-{tag}.log", logs / f"latency-loadgen-{tag}.log"
    flags = kafka_flags(bootstrap, topics)
    verbose = ["-v"] if "-v" in worker_args else []
    worker_argv = [
        sys.executable, "-m", "streams.cli", *verbose, "run", *flags, "--group-id", f"bench-latency-{tag}",
        "--guarantee", guarantee.value, "--latency", profile.value, "--max-events", str(count),
        "--status-interval", "0",
        "--until-idle", "60", *(arg for arg in worker_args if arg != "-v"),
    ]  # fmt: skip
    loadgen_argv = [
        sys.executable, "-m", "streams.cli", "loadgen", *flags, "--rate", f"{rate:.0f}",
        "--count", str(count), "--seed", "7", "--profile", traffic.value,
    ]  # fmt: skip
    arrivals = Arrivals(bootstrap, topics.outputs, partitions)
    arrivals.start()  # before any output exists: its fetch is warm when the first one commits
    try:
        with worker_log.open("wb") as out:
            worker = subprocess.Popen(
                worker_argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True
            )
            try:
                _wait_for_line(worker_log, "assigned", worker, JOIN_TIMEOUT)
                status = run_logged(loadgen_argv, loadgen_log, timeout=duration * 3 + 120)
                if status != 0:
                    raise BenchError(f"loadgen exited with status {status}:\n{tail(loadgen_log)}")
                worker.wait(timeout=duration * 2 + 120)
            except BaseException:
                stop_group(worker)
                raise
        if worker.returncode != 0:
            raise BenchError(f"the worker exited with status {worker.returncode}:\n{tail(worker_log)}")
        achieved = _achieved_rate(loadgen_log)
        arrivals.wait_for(count, timeout=30.0)
        inputs = timestamps(bootstrap, [topics.input])
    finally:
        arrivals.done.set()
        delete_topics(client, topics.all)
    return _percentiles(
        guarantee,
        profile,
        share,
        rate,
        achieved,
        inputs=inputs,
        outputs=arrivals.seen,
        produced=arrivals.produced,
        warmup=warmup,
    )


def _achieved_rate(log: Path) -> float:
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith(_LOADGEN_LINE) and "events/s" in line:
            return float(line.rsplit("(", 1)[1].split(" ", 1)[0].replace(",", ""))
    raise BenchError(f"no loadgen summary in {log}:\n{tail(log)}")


def _percentiles(
    guarantee: Guarantee,
    profile: Latency,
    share: float,
    rate: float,
    achieved: float,
    *,
    inputs: dict[bytes, int],
    outputs: dict[bytes, int],
    produced: dict[bytes, int],
    warmup: float,
) -> LatencyRun:
    missing = len(inputs) - len(outputs.keys() & inputs.keys())
    if missing:
        raise BenchError(f"{missing:,} of {len(inputs):,} inputs have no output record")
    start = min(inputs.values()) + warmup * 1000
    lat = np.array([outputs[k] - t for k, t in inputs.items() if t >= start], dtype=np.float64)
    if not len(lat):
        raise BenchError("no events after the warm-up: make the run longer")
    p50, p99, p999 = np.percentile(lat, [50, 99, 99.9])
    made = np.array([produced[k] - t for k, t in inputs.items() if t >= start], dtype=np.float64)
    p50_made, p99_made = np.percentile(made, [50, 99])
    return LatencyRun(
        guarantee=guarantee.value,
        profile=profile.value,
        share=share,
        offered_rate=rate,
        achieved_rate=achieved,
        events=len(inputs),
        measured=len(lat),
        p50_ms=float(p50),
        p99_ms=float(p99),
        p999_ms=float(p999),
        max_ms=float(lat.max()),
        p50_produced_ms=float(p50_made),
        p99_produced_ms=float(p99_made),
    )


def max_rate(
    bootstrap: str,
    events: int,
    logs: Path,
    traffic: TrafficProfile = TrafficProfile.LATIN,
    *,
    rounds: int = MAX_RATE_ROUNDS,
) -> float:
    """The worker's exactly-once rate: the median of ``rounds`` drains of ``events`` pre-loaded events.

    One drain is not enough: the first on a fresh broker runs cold (its JIT, page cache and coordinators
    warming up) and measured 41k-59k events/s where the suite's median of seven warm drains measured 91k
    on the same machine, so every offered load of the runs alone was a much smaller share than it said.
    """
    from benchmarks import drains

    topic = fresh_topics("bench.latency-max").input
    client = admin(bootstrap)
    create_topics(client, [topic], partitions=PARTITIONS)
    try:
        drains.preload(bootstrap, topic, events, profile=traffic)
        rates = []
        for n in range(rounds):
            rate = drains.drain(drains.WORKER, bootstrap, topic, events, round_no=n, logs=logs).rate
            print(f"  drain {n + 1} of {rounds}: {rate:,.0f} events/s", file=sys.stderr, flush=True)
            rates.append(rate)
        return statistics.median(rates)
    finally:
        delete_topics(client, [topic])


def table(runs: Sequence[LatencyRun]) -> str:
    """The runs as a markdown table, p50/p99 of each profile side by side per offered load."""
    lines = [
        "| guarantee | --latency | load | offered ev/s | sent ev/s | p50 | p99 | p99.9 | max | "
        "p50 / p99 until produced |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(runs, key=lambda r: (r.guarantee, r.share, r.profile)):
        lines.append(
            f"| {r.guarantee} | {r.profile} | {r.share:.0%} | {r.offered_rate:,.0f} | "
            f"{r.achieved_rate:,.0f} | "
            f"{r.p50_ms:.0f} ms | {r.p99_ms:.0f} ms | {r.p999_ms:.0f} ms | {r.max_ms:.0f} ms | "
            f"{r.p50_produced_ms:.0f} / {r.p99_produced_ms:.0f} ms |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Latency runs alone (the suite's step 5), on a broker of their own or ``--bootstrap-servers``."""
    from benchmarks.broker_session import bench_broker

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", help="use this cluster instead of starting a local broker")
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument("--max-rate", type=float, help="the worker's maximum rate (events/s), not measured")
    rate.add_argument(
        "--drain-events", type=int, default=200_000, help="events of each drain measuring the maximum rate"
    )
    parser.add_argument(
        "--drain-rounds", type=int, default=MAX_RATE_ROUNDS, help="drains of that measure (the median counts)"
    )
    parser.add_argument("--shares", default="0.25,0.5,0.75", help="offered loads, shares of the maximum")
    parser.add_argument("--profiles", default="throughput,low", help="worker --latency profiles to run")
    parser.add_argument(
        "--guarantee", default=Guarantee.EXACTLY_ONCE.value, choices=[g.value for g in Guarantee]
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of load a run")
    parser.add_argument(
        "--warm-up",
        type=float,
        default=WARM_UP_SECONDS,
        metavar="SECONDS",
        help="seconds of an unrecorded first run, at the first share under the first profile (0: none)",
    )
    parser.add_argument(
        "--traffic", default=TrafficProfile.LATIN.value, choices=[t.value for t in TrafficProfile]
    )
    parser.add_argument("--logs", type=Path, help="keep the worker and loadgen logs here")
    parser.add_argument("--out", type=Path, help="write the runs as JSON here")
    parser.add_argument(
        "--worker-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for the worker (repeatable): -v for its per-batch timings, -X for options",
    )
    args = parser.parse_args(argv)
    if args.drain_rounds < 1:
        parser.error("--drain-rounds must be at least 1")
    shares = [float(x) for x in args.shares.split(",")]
    profiles = [Latency(x) for x in args.profiles.split(",")]
    guarantee, traffic = Guarantee(args.guarantee), TrafficProfile(args.traffic)
    runs: list[LatencyRun] = []
    with tempfile.TemporaryDirectory(prefix="txscreen-latency-") as tmp:
        logs = args.logs or Path(tmp)
        (logs / "warm-up").mkdir(parents=True, exist_ok=True)
        with bench_broker(args.bootstrap_servers) as bootstrap:
            rounds = args.drain_rounds
            top = args.max_rate or max_rate(bootstrap, args.drain_events, logs, traffic, rounds=rounds)
            print(f"maximum exactly-once rate: {top:,.0f} events/s", file=sys.stderr, flush=True)
            if args.warm_up > 0:
                warm = latency_run(
                    bootstrap, guarantee, shares[0], shares[0] * top, args.warm_up, logs=logs / "warm-up",
                    profile=profiles[0], traffic=traffic,
                )  # fmt: skip
                said = f"p50 {warm.p50_ms:.0f} ms, p99 {warm.p99_ms:.0f} ms"
                print(f"warm-up (not recorded): {said}", file=sys.stderr, flush=True)
            for share in shares:
                for profile in profiles:
                    run = latency_run(
                        bootstrap, guarantee, share, share * top, args.seconds, logs=logs,
                        profile=profile, worker_args=args.worker_arg, traffic=traffic,
                    )  # fmt: skip
                    print(
                        f"{profile.value} at {share:.0%}: p50 {run.p50_ms:.0f} ms, p99 {run.p99_ms:.0f} ms",
                        file=sys.stderr,
                        flush=True,
                    )
                    runs.append(run)
    if args.out:
        args.out.write_text(
            json.dumps({"max_rate": top, "runs": [r.as_dict() for r in runs]}, indent=2) + "\n"
        )
    print(table(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
