"""txscreen loadgen on a real broker: every event arrives, keyed by its id, spread over the partitions."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME

from streams.kafka.reader import read_topic
from streams.loadgen.generator import PRODUCED_AT_HEADER
from streams.settings import KafkaSettings

pytestmark = pytest.mark.kafka

REPO = Path(__file__).resolve().parents[2]
EVENTS = 6000
PARTITIONS = 6


def test_loadgen_events_arrive_keyed_and_spread_over_partitions(
    kafka_bootstrap: str, make_topics: Callable[..., list[str]]
) -> None:
    """N events arrive once each, keyed by event id, on every partition, with CreateTime set at produce."""
    (topic,) = make_topics("loadgen", partitions=PARTITIONS)
    before_ms = time.time_ns() // 1_000_000
    done = subprocess.run(
        [
            sys.executable, "-m", "streams.cli", "loadgen", "--bootstrap-servers", kafka_bootstrap,
            "--input-topic", topic, "--count", str(EVENTS), "--pool", "1000", "--malformed-share", "0.01",
            "--produced-at-header", "--seed", "11",
        ],
        capture_output=True, text=True, timeout=180, cwd=REPO, check=False,
    )  # fmt: skip
    after_ms = time.time_ns() // 1_000_000
    assert done.returncode == 0, done.stderr
    assert f"loadgen: {EVENTS:,} events" in done.stderr

    records = list(read_topic(KafkaSettings(bootstrap_servers=kafka_bootstrap), topic, timeout=30.0))
    assert len(records) == EVENTS
    keys = [m.key() for m in records]
    assert len(set(keys)) == EVENTS
    per_partition = Counter(m.partition() for m in records)
    assert set(per_partition) == set(range(PARTITIONS))
    assert min(per_partition.values()) > EVENTS / PARTITIONS / 2
    malformed = 0
    for message in records:
        kind, stamp = message.timestamp()
        assert kind == TIMESTAMP_CREATE_TIME
        assert before_ms <= stamp <= after_ms
        headers = dict(message.headers() or ())
        assert int(headers[PRODUCED_AT_HEADER]) // 1_000_000 == stamp
        try:
            event_id = orjson.loads(message.value())["id"]
        except (orjson.JSONDecodeError, TypeError, KeyError):
            malformed += 1
            continue
        if isinstance(event_id, str) and event_id.startswith("pay-"):
            assert message.key() == event_id.encode()
        else:
            malformed += 1
    assert 0 < malformed < EVENTS * 0.03
