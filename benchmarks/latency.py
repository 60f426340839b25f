"""Latency at a fixed offered load: ``txscreen loadgen --rate R`` feeding a running ``txscreen run``.

Per run: fresh topics; the worker starts and joins its group; then the load generator produces
``R × duration`` events at ``R`` events/s while the worker screens them; the worker stops once it
has processed them all. Then every record of the input and of the three outputs is read back
(read_committed) and joined by key (the event id).

**Method.** An event's latency is the output record's timestamp minus the input record's
timestamp, both CreateTime set by the clients on this one machine (one clock): the input's by
``txscreen loadgen`` at its ``produce`` call, the output's by the worker's producer at its
``produce`` call. So it spans the load generator's producer (``linger.ms`` 20 ms and batching
included), the broker, the worker's consume wait (a batch fills for up to ``--batch-timeout`` 0.2 s),
screening, and the worker's ``produce``; with exactly-once the output becomes visible to
read_committed readers when that batch's transaction commits, after this. The first
``warmup`` seconds of events are left out (the worker's first batches warm its caches).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

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
from streams.settings import Guarantee, KafkaSettings

JOIN_TIMEOUT = 120.0
_LOADGEN_LINE = "loadgen: "


@dataclass(frozen=True, slots=True)
class LatencyRun:
    """Latency percentiles (milliseconds) of one run at one offered load."""

    guarantee: str
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
) -> LatencyRun:
    """One run at ``rate`` events/s for ``duration`` seconds (see the module docstring)."""
    import subprocess

    topics = fresh_topics("bench.latency")
    client = admin(bootstrap)
    create_topics(client, topics.all, partitions=partitions)
    count = max(1, int(rate * duration))
    tag = f"{guarantee.value}-{round(share * 100)}"
    worker_log, loadgen_log = logs / f"latency-worker-{tag}.log", logs / f"latency-loadgen-{tag}.log"
    flags = kafka_flags(bootstrap, topics)
    worker_argv = [
        sys.executable, "-m", "streams.cli", "run", *flags, "--group-id", f"bench-latency-{tag}",
        "--guarantee", guarantee.value, "--max-events", str(count), "--status-interval", "0",
        "--until-idle", "60",
    ]  # fmt: skip
    loadgen_argv = [
        sys.executable, "-m", "streams.cli", "loadgen", *flags, "--rate", f"{rate:.0f}",
        "--count", str(count), "--seed", "7",
    ]  # fmt: skip
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
        inputs = timestamps(bootstrap, [topics.input])
        outputs = timestamps(bootstrap, topics.outputs)
    finally:
        delete_topics(client, topics.all)
    return _percentiles(guarantee, share, rate, achieved, inputs=inputs, outputs=outputs, warmup=warmup)


def _achieved_rate(log: Path) -> float:
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith(_LOADGEN_LINE) and "events/s" in line:
            return float(line.rsplit("(", 1)[1].split(" ", 1)[0].replace(",", ""))
    raise BenchError(f"no loadgen summary in {log}:\n{tail(log)}")


def _percentiles(
    guarantee: Guarantee,
    share: float,
    rate: float,
    achieved: float,
    *,
    inputs: dict[bytes, int],
    outputs: dict[bytes, int],
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
    return LatencyRun(
        guarantee=guarantee.value,
        share=share,
        offered_rate=rate,
        achieved_rate=achieved,
        events=len(inputs),
        measured=len(lat),
        p50_ms=float(p50),
        p99_ms=float(p99),
        p999_ms=float(p999),
        max_ms=float(lat.max()),
    )
