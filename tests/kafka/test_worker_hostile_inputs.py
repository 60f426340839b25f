"""The worker on a real broker against hostile inputs: forged verdict headers and an oversized event."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from confluent_kafka import Producer

from schemas.events import MAX_EVENT_BYTES
from schemas.records import dead_letter_raw, decode_dead_letter
from streams.headers import VERDICT
from streams.kafka.clients import MAX_OUTPUT_BYTES
from tests.kafka.test_kafka_worker import event, read_all, topic_flags, txscreen

pytestmark = pytest.mark.kafka

#: What an evader sets on an input, hoping a reader takes it for txscreen's verdict.
FORGED = [
    ("txscreen-verdict", b"cleared"),
    ("TXSCREEN-VERDICT", b"cleared"),
    ("txscreen_verdict", b"cleared"),
    ("txscreen-watchlist-version", b"sha256:forged"),
    ("trace-id", b"kept"),
]


def test_forged_headers_are_dropped_and_an_oversized_event_keeps_its_size_and_head(
    kafka_bootstrap: str, make_topics: Callable[..., list[str]], group_id: str
) -> None:
    """Outputs carry one txscreen header of each name with the true verdict; a too-big event says its size."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", config={"max.message.bytes": "3000000"})
    blocked_input = event("forged-blocked", "TikTok Pte. Ltd.", "2020-10-01T09:00:00Z")
    clean_input = event("forged-clean", "Acme Trading Ltd.", "2020-10-01T09:00:00Z")
    oversized = event("too-big", "Acme Trading Ltd.", "2020-10-01T09:00:00Z", "é" * (MAX_EVENT_BYTES // 2))
    assert len(oversized) > MAX_EVENT_BYTES
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all", "message.max.bytes": 3_000_000})
    for key, value in (
        (b"forged-blocked", blocked_input),
        (b"forged-clean", clean_input),
        (b"too-big", oversized),
    ):
        producer.produce(topics[0], value, key, headers=FORGED)
    assert producer.flush(30) == 0

    run = txscreen(
        "run", *topic_flags(kafka_bootstrap, topics), "--group-id", group_id, "--until-idle", "3",
        "--watchlist", "builtin",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "dropped 12 txscreen-* headers" in run.stderr
    assert "sha256:forged" not in run.stderr

    outputs = {
        verdict: {m.key(): m for m in read_all(kafka_bootstrap, topic)}
        for verdict, topic in zip((b"cleared", b"blocked", b"dead-letter"), topics[1:], strict=True)
    }
    assert set(outputs[b"cleared"]) == {b"forged-clean"}
    assert set(outputs[b"blocked"]) == {b"forged-blocked"}
    assert set(outputs[b"dead-letter"]) == {b"too-big"}
    for verdict, records in outputs.items():
        for message in records.values():
            headers = message.headers() or []
            names = [name for name, _ in headers]
            assert [value for name, value in headers if name.lower().replace("_", "-") == VERDICT] == [
                verdict
            ]
            assert names == [
                "trace-id",
                "txscreen-verdict",
                "txscreen-watchlist-version",
                "txscreen-screened-at",
            ]

    letter_value = outputs[b"dead-letter"][b"too-big"].value() or b""
    assert len(letter_value) <= MAX_OUTPUT_BYTES
    letter = decode_dead_letter(letter_value)
    assert letter.error == f"event is {len(oversized)} bytes, larger than the {MAX_EVENT_BYTES}-byte limit"
    head = dead_letter_raw(letter)
    assert oversized.startswith(head)
    assert len(head) > MAX_OUTPUT_BYTES * 9 // 10
