"""The replay's transform, headers, audit records and summary, with a recording producer instead of Kafka."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from confluent_kafka import Message

from schemas.errors import ConfigError
from schemas.records import encode_dead_letter
from streams.dlq.replay import (
    REPLAYED,
    SKIPPED,
    Actor,
    ReplayTotals,
    ReplayTransform,
    check_output,
    replay_headers,
)
from streams.dlq.selection import FixFile, NoFix, Selection
from streams.headers import REPLAY_OF
from streams.settings import KafkaSettings, Topics
from tests.unit.streams.fakes import RecordingProducer

ACTOR = Actor("alice", "ops-1")
SOURCE = {"topic": "payments", "partition": 0, "offset": 7}


def dead(
    offset: int, raw: bytes, error: str = "missing amount", source: dict[str, Any] | None = None
) -> Message:
    value = encode_dead_letter(raw, error, SOURCE if source is None else source, "2026-11-30T12:00:00.000Z")
    headers = [("trace", b"t-1"), ("txscreen-verdict", b"dead-letter"), ("TXSCREEN-screened-at", b"x")]
    return Message(
        topic="payments.dlq", partition=1, offset=offset, key=b"k-%d" % offset, value=value, headers=headers
    )


def transform(fixer: Any = None, selection: Selection | None = None) -> ReplayTransform:
    return ReplayTransform(
        selection or Selection(), fixer or NoFix(), dlq="payments.dlq", output="payments",
        audit="payments.dlq.replayed", actor=ACTOR,
    )  # fmt: skip


def test_headers_drop_every_txscreen_header_and_name_the_dead_letter() -> None:
    """Other headers are kept in order; txscreen-* (any case) go; txscreen-replay-of is appended."""
    headers = replay_headers([("a", b"1"), ("txscreen-verdict", b"dead-letter"), ("b", None)], "d[1]@5")
    assert headers == [("a", b"1"), ("b", None), (REPLAY_OF, b"d[1]@5")]


def test_replay_produces_the_raw_event_and_one_audit_record_each() -> None:
    """The original bytes go to the input topic with the dead letter's key; the audit says where from."""
    raw = b'{"id": "p-1", "amount": }'
    producer = RecordingProducer()
    counts = transform()([dead(5, raw)])(producer)  # type: ignore[arg-type]
    assert counts == {REPLAYED: 1}
    replay, audit = producer.records
    assert replay == {
        "topic": "payments", "value": raw, "key": b"k-5",
        "headers": [("trace", b"t-1"), (REPLAY_OF, b"payments.dlq[1]@5")],
    }  # fmt: skip
    assert audit["topic"] == "payments.dlq.replayed"
    assert audit["key"] == b"payments.dlq[1]@5"
    record = orjson.loads(audit["value"])
    assert record["dead_letter"] == {"topic": "payments.dlq", "partition": 1, "offset": 5}
    assert record["source"] == SOURCE
    assert record["replayed_to"] == {"topic": "payments"}
    assert (record["event_id"], record["fixed"], record["fix"]) == (None, False, None)
    assert (record["actor"], record["host"]) == ("alice", "ops-1")
    assert record["replayed_at"].endswith("Z")


def test_fixed_events_are_replayed_and_unmatched_ones_skipped_with_reasons() -> None:
    """With a fix file, matched dead letters replay the fix (fixed: true); the rest count as skipped."""
    fixes = FixFile.parse([b'{"id": "p-2", "event": {"id": "p-2", "amount": "3.00"}}'], "f")
    producer = RecordingProducer()
    batch = [dead(1, b'{"id": "p-2", "amount": "x"}'), dead(2, b"garbage"), dead(3, b"x", error="other")]
    counts = transform(fixes, Selection(error_contains="amount"))(batch)(producer)  # type: ignore[arg-type]
    assert counts == {
        REPLAYED: 1, SKIPPED: 2, "reason:no corrected line": 1,
        "reason:error does not contain the --error-contains text": 1,
    }  # fmt: skip
    replay, audit = producer.records
    assert replay["value"] == b'{"id":"p-2","amount":"3.00"}'
    record = orjson.loads(audit["value"])
    assert (record["event_id"], record["fixed"], record["fix"]) == ("p-2", True, "file")


def test_summary_says_replayed_skipped_and_why() -> None:
    """The closing line counts replays and skips, with each reason, most frequent first."""
    totals = ReplayTotals((REPLAYED, SKIPPED))
    totals.add({REPLAYED: 4, SKIPPED: 3, "reason:b": 1, "reason:a": 2}, 7, at=1.0)
    assert totals.summary() == "replayed 4, skipped 3 (a: 2; b: 1)"
    assert totals.describe() == "replayed 4, skipped 3"


@pytest.mark.parametrize(
    "output", ["payments.cleared", "payments.blocked", "payments.dlq", "payments.dlq.replayed"]
)
def test_replay_never_writes_to_an_output_topic(output: str) -> None:
    """The cleared, blocked, dead-letter and audit topics are refused as the replay's output."""
    with pytest.raises(ConfigError, match="never to the"):
        check_output(KafkaSettings(topics=Topics()), output)
    check_output(KafkaSettings(topics=Topics()), "payments.retry")


def test_fix_failures_are_logged_by_position_without_payment_text_and_capped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A skipped dead letter is named topic[partition]@offset (no raw text); after ten, one per thousand."""
    fixes = FixFile.parse([b'{"id": "other", "event": "x"}'], "f")
    batch = [dead(n, b'{"id": "secret-name HAMAS"}') for n in range(12)]
    with caplog.at_level("WARNING", logger="streams.dlq.replay"):
        counts = transform(fixes)(batch)(RecordingProducer())  # type: ignore[arg-type]
    assert counts == {SKIPPED: 12, "reason:no corrected line": 12}
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 10
    assert lines[0] == "skipped payments.dlq[1]@0: no corrected line (1 so far)"
    assert "one line per thousand" in lines[-1]
    assert not any("HAMAS" in line for line in lines)
