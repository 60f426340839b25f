"""Quick end-to-end guard: the screening worker against the pass-through copier on one broker, as a ratio."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from benchmarks.drains import (
    COPIER,
    WORKER,
    admin,
    create_topics,
    delete_topics,
    drain,
    fresh_topics,
    preload,
    rounds,
)

pytestmark = [pytest.mark.kafka, pytest.mark.bench, pytest.mark.slow]

EVENTS = 30_000
ROUNDS = 5
#: The guard fails below this worker/copier ratio. See benchmarks/README.md (Guard) for the spread seen here.
FLOOR = 0.3
HISTORY = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "e2e-guard.tmp"


def test_worker_keeps_up_with_the_copier(
    kafka_bootstrap: str, tmp_path: Path, bench_summary: Callable[[str], None]
) -> None:
    """The exactly-once worker drains realistic events at more than the floor share of the copier's rate."""
    topics = fresh_topics("guard.e2e")
    client = admin(kafka_bootstrap)
    create_topics(client, [topics.input], partitions=6)
    try:
        preload(kafka_bootstrap, topics.input, EVENTS)
        results = rounds(
            [[WORKER, COPIER]] * ROUNDS,
            lambda engine, n: drain(engine, kafka_bootstrap, topics.input, EVENTS, round_no=n, logs=tmp_path),
        )
    finally:
        delete_topics(client, [topics.input])
    by_round = {(r.engine, r.round): r.rate for r in results}
    ratios = [by_round[("worker", n)] / by_round[("copier", n)] for n in range(1, ROUNDS + 1)]
    ratio = statistics.median(ratios)
    line = (
        f"e2e worker/copier ratio {ratio:.3f} (rounds {', '.join(f'{r:.3f}' for r in ratios)}; "
        f"{EVENTS:,} events, exactly-once), floor {FLOOR}"
    )
    print(line)
    bench_summary(line)
    record = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "ratio": ratio, "rounds": ratios}
    with HISTORY.open("a") as history:
        history.write(json.dumps(record) + "\n")
    assert ratio > FLOOR, line
