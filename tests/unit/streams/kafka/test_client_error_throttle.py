"""Repeated Kafka client errors are logged once per reconnect interval, not once per attempt."""

from __future__ import annotations

import logging

import pytest

from schemas.errors import BrokerError
from streams.kafka import reader as topic_reader
from streams.kafka.clients import CLIENT_ERRORS, REPEAT_INTERVAL, RepeatThrottle
from streams.settings import KafkaSettings

REFUSED = (
    "FAIL [rdkafka#consumer-{n}] 127.0.0.1:9/bootstrap: Connect failed: Connection refused (after {ms}ms)"
)


def test_identical_lines_pass_once_per_interval_and_say_how_many_were_held() -> None:
    """A run of lines differing only in durations shows once per interval, then with the count held back."""
    now = [0.0]
    throttle = RepeatThrottle(interval=10.0, clock=lambda: now[0])
    shown = []
    for step in range(300):  # 30 s of a line every 0.1 s
        now[0] = step / 10
        allowed, held = throttle.allow(REFUSED.format(n=step % 3, ms=step % 7))
        if allowed:
            shown.append(held)
    assert shown == [0, 99, 99]
    assert throttle.allow("another error")[0]


def test_consume_against_a_closed_port_prints_few_lines(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """consume with nothing listening logs librdkafka's connection error at most once per interval."""
    monkeypatch.setattr(topic_reader, "METADATA_TIMEOUT", 4.0)
    monkeypatch.setattr(CLIENT_ERRORS, "_last", {})  # forget lines other tests logged
    kafka = KafkaSettings(bootstrap_servers="127.0.0.1:9")
    with caplog.at_level(logging.INFO), pytest.raises(BrokerError, match="did not answer"):
        list(topic_reader.read_topic(kafka, "payments", timeout=1.0))
    lines = [r for r in caplog.records if r.name == "streams.rdkafka"]
    assert 1 <= len(lines) <= 1 + int(4.0 // REPEAT_INTERVAL) + 1
