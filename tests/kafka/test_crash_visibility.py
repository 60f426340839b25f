"""How long read_committed readers see nothing new after a worker without --instance-id is killed -9.

The killed worker's open transaction holds the last stable offset of the output partitions until
the broker aborts it: ``transaction.timeout.ms`` after it began, checked every
``transaction.abort.timed.out.transaction.cleanup.interval.ms`` (10 s by default). Meanwhile its
successor waits for the killed consumer's session to expire before it gets the partitions. The
test measures the gap and checks it against that bound (the README states the same).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from confluent_kafka import OFFSET_END, Consumer, TopicPartition

from streams.headers import SCREENED_AT, last_header
from streams.kafka.clients import CONSUMER_TUNING, PRODUCER_TUNING
from tests.kafka import test_worker_faults
from tests.kafka.test_worker_faults import Feeder, Worker, make_events

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

logger = logging.getLogger(__name__)
#: The ``spawn`` fixture of the fault tests (worker subprocesses, killed after the test).
spawn_fixture = test_worker_faults.spawn

#: The broker's default interval between its checks for timed-out transactions.
BROKER_ABORT_CHECK = 10.0
#: Worst case from the settings: the transaction timed out, found by the next check, or the session.
BOUND = max(
    PRODUCER_TUNING["transaction.timeout.ms"] / 1000 + BROKER_ABORT_CHECK,
    CONSUMER_TUNING["session.timeout.ms"] / 1000,
)

#: Seconds the successor may need beyond the bound to start, load its lists and join (a loaded machine).
STARTUP = 10.0


def _screened_after(reader: Consumer, moment: datetime, deadline: float) -> float | None:
    """When the reader first got a record screened after ``moment`` (monotonic), or None by ``deadline``."""
    while time.monotonic() < deadline:
        for message in reader.consume(1000, 0.2):
            if message.error() is not None:
                continue
            stamp = last_header(message.headers(), SCREENED_AT)
            if isinstance(stamp, bytes) and datetime.fromisoformat(stamp.decode()) > moment:
                return time.monotonic()
    return None


@pytest.mark.timeout(240)
def test_outputs_are_visible_again_within_the_bound_after_kill_9_without_instance_id(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    group_id: str,
    spawn_fixture: Callable[..., Worker],
) -> None:
    """After kill -9 of a worker without --instance-id, its successor's outputs are readable within BOUND."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", partitions=4)
    events = make_events(150_000)
    feeder = Feeder(kafka_bootstrap, topics[0], events, 1_000_000)  # a backlog: every batch is full
    feeder.start()
    feeder.join(120)
    assert feeder.failed == []
    reader = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": f"{group_id}-reader",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    reader.assign([TopicPartition(topics[1], p, OFFSET_END) for p in range(4)])
    try:
        first = spawn_fixture(kafka_bootstrap, topics, group_id, "anonymous-0")
        started = _screened_after(reader, datetime.now(UTC), time.monotonic() + 90)
        assert started is not None, first.log()
        time.sleep(1.0)  # busy with full batches: a transaction with outputs is open when it dies
        killed_at = datetime.now(UTC)
        first.kill9()
        killed = time.monotonic()
        successor = spawn_fixture(kafka_bootstrap, topics, group_id, "anonymous-1")
        seen = _screened_after(reader, killed_at, killed + BOUND + 30)
        assert seen is not None, successor.log()
        gap = seen - killed
        logger.warning("outputs were invisible for %.1f s after kill -9 (bound %.0f s)", gap, BOUND)
        print(f"\nkill -9 without --instance-id: read_committed readers saw nothing new for {gap:.1f} s")
        assert gap <= BOUND + STARTUP, f"{gap:.1f} s > {BOUND} s + {STARTUP} s\n{successor.log()}"
    finally:
        reader.close()
