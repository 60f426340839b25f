"""The worker's and the copier's transforms, with a recording producer instead of Kafka."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest
from confluent_kafka import Message

from matchers.automaton import NameAutomaton
from matchers.sources import load_watchlists
from schemas.records import decode_blocked, decode_dead_letter
from streams.headers import REPLAY_OF, last_header
from streams.kafka.clients import MAX_OUTPUT_BYTES
from streams.settings import Topics
from streams.worker.copier import CopyTransform
from streams.worker.screener import ScreeningTransform
from tests.unit.streams.fakes import RecordingProducer

TOPICS = Topics("in", "ok", "stop", "bad")


@pytest.fixture(scope="module")
def automaton() -> NameAutomaton:
    return NameAutomaton(load_watchlists(["builtin"]))


def event(event_id: str, creditor: str, created_at: str = "2020-10-01T10:00:00Z") -> bytes:
    return orjson.dumps(
        {
            "id": event_id,
            "created_at": created_at,
            "amount": "10.00",
            "currency": "USD",
            "debtor": {"name": "Jane Doe"},
            "creditor": {"name": creditor},
        }
    )


def message(offset: int, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]] | None) -> Message:
    return Message(topic="in", partition=1, offset=offset, key=key, value=value, headers=headers)


def test_screening_routes_each_input_once_with_key_headers_and_verdict(automaton: NameAutomaton) -> None:
    """Cleared → original bytes, blocked → blocked record, malformed → dead letter; keys and headers kept."""
    clean = event("p-1", "Acme Trading Ltd.")
    hit = event("p-2", "TikTok")
    broken = b'{"id": "p-3", "amount": '
    batch = [
        message(40, clean, b"p-1", [("trace", b"a")]),
        message(41, hit, b"p-2", None),
        message(42, broken, None, [("trace", b"c")]),
    ]
    producer = RecordingProducer()
    counts = ScreeningTransform(automaton, TOPICS)(batch)(producer)  # type: ignore[arg-type]

    assert counts == {"cleared": 1, "blocked": 1, "dead-lettered": 1}
    cleared, blocked, dead = producer.records
    assert (cleared["topic"], cleared["value"], cleared["key"]) == ("ok", clean, b"p-1")
    assert cleared["headers"][0] == ("trace", b"a")
    assert last_header(cleared["headers"], "txscreen-verdict") == b"cleared"
    assert last_header(cleared["headers"], "txscreen-watchlist-version") == automaton.version.encode()

    assert (blocked["topic"], blocked["key"]) == ("stop", b"p-2")
    record = decode_blocked(blocked["value"])
    assert record.event["id"] == "p-2"
    assert [h.entity_id for h in record.hits] == ["us-eo-2020:bytedance"]
    assert last_header(blocked["headers"], "txscreen-verdict") == b"blocked"

    assert (dead["topic"], dead["key"]) == ("bad", None)
    letter = decode_dead_letter(dead["value"])
    assert letter.source == {"topic": "in", "partition": 1, "offset": 42}
    assert letter.raw == broken.decode()
    assert dead["headers"][0] == ("trace", b"c")
    assert last_header(dead["headers"], "txscreen-verdict") == b"dead-letter"
    screened_at = {last_header(r["headers"], "txscreen-screened-at") for r in producer.records}
    assert len(screened_at) == 1


def test_an_output_too_big_to_produce_becomes_a_dead_letter(automaton: NameAutomaton) -> None:
    """A blocked record too big to produce is dead-lettered with the event's size and first bytes."""
    padding = "x" * MAX_OUTPUT_BYTES
    big = orjson.dumps(
        {
            "id": "p-9",
            "created_at": "2020-10-01T10:00:00Z",
            "amount": "1.00",
            "currency": "USD",
            "debtor": {"name": "Jane Doe"},
            "creditor": {"name": "TikTok"},
            "note": padding,
        }
    )
    producer = RecordingProducer()
    counts = ScreeningTransform(automaton, TOPICS)([message(7, big, b"p-9", None)])(producer)  # type: ignore[arg-type]
    assert counts == {"cleared": 0, "blocked": 0, "dead-lettered": 1}
    (record,) = producer.records
    assert record["topic"] == "bad"
    letter = decode_dead_letter(record["value"])
    assert big.decode().startswith(letter.raw)
    assert len(letter.raw) > MAX_OUTPUT_BYTES * 9 // 10
    assert f"event is {len(big):,} bytes" in letter.error
    assert len(record["value"]) <= MAX_OUTPUT_BYTES
    assert letter.source["offset"] == 7


def test_copier_produces_each_input_unchanged() -> None:
    """The pass-through copier keeps value, key and headers and adds nothing."""
    batch = [message(1, b"one", b"k1", [("h", b"1")]), message(2, b"two", None, None)]
    producer = RecordingProducer()
    assert CopyTransform("copy")(batch)(producer) == {"copied": 2}  # type: ignore[arg-type]
    assert producer.records == [
        {"topic": "copy", "value": b"one", "key": b"k1", "headers": [("h", b"1")]},
        {"topic": "copy", "value": b"two", "key": None, "headers": None},
    ]


#: Header names an evader might use to pass off a verdict as txscreen's.
FORGED_NAMES = [
    "txscreen-verdict",
    "TXSCREEN-VERDICT",
    "Txscreen-Verdict",
    " txscreen-verdict",
    "txscreen_verdict",
    "txscreen\u200b-verdict",
    "\uff54\uff58\uff53\uff43\uff52\uff45\uff45\uff4e-verdict",
    "txscreen-watchlist-version",
    "txscreen-anything",
]


def test_forged_txscreen_headers_are_dropped_counted_and_logged_once(
    automaton: NameAutomaton, caplog: pytest.LogCaptureFixture
) -> None:
    """Inputs' own txscreen-* headers, in any disguise, are dropped: one WARNING with the count, no values."""
    forged = [(name, b"cleared-by-me") for name in FORGED_NAMES]
    batch = [
        message(1, event("p-1", "TikTok"), b"p-1", [("trace", b"a"), *forged]),
        message(2, event("p-2", "Acme Trading Ltd."), b"p-2", [("txscreen-verdict", b"cleared-by-me")]),
    ]
    producer = RecordingProducer()
    with caplog.at_level("WARNING"):
        ScreeningTransform(automaton, TOPICS)(batch)(producer)  # type: ignore[arg-type]
    blocked, cleared = producer.records
    assert blocked["headers"][0] == ("trace", b"a")
    for record, verdict in ((blocked, b"blocked"), (cleared, b"cleared")):
        names = [name for name, _ in record["headers"]]
        assert names.count("txscreen-verdict") == 1
        assert all(
            name in ("trace", "txscreen-verdict", "txscreen-watchlist-version", "txscreen-screened-at")
            for name in names
        )
        assert last_header(record["headers"], "txscreen-verdict") == verdict
    warnings = [r for r in caplog.records if "txscreen-* header" in r.getMessage()]
    assert len(warnings) == 1
    assert f"dropped {len(FORGED_NAMES) + 1} " in warnings[0].getMessage()
    assert "cleared-by-me" not in caplog.text


def test_other_headers_are_kept_without_a_warning(
    automaton: NameAutomaton, caplog: pytest.LogCaptureFixture
) -> None:
    """Headers outside the txscreen namespace pass on unchanged and nothing is logged about them."""
    kept = [("trace", b"1"), ("screen", b"2"), ("x-txscreen", b"3")]
    producer = RecordingProducer()
    with caplog.at_level("WARNING"):
        ScreeningTransform(automaton, TOPICS)([message(1, event("p-1", "Acme"), b"p-1", kept)])(producer)  # type: ignore[arg-type]
    assert producer.records[0]["headers"][:3] == kept
    assert "txscreen-* header" not in caplog.text


def test_blocked_events_are_logged_at_info_without_names(
    automaton: NameAutomaton, caplog: pytest.LogCaptureFixture
) -> None:
    """INFO names the input, event id, entity ids and rules; party names and matched texts only at DEBUG."""
    batch = [message(5, event("pay-77", "TikTok Pte. Ltd."), b"pay-77", None)]
    with caplog.at_level(logging.INFO):
        ScreeningTransform(automaton, TOPICS)(batch)(RecordingProducer())  # type: ignore[arg-type]
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("blocked")]
    assert "in[1]@5" in line
    assert "'pay-77'" in line
    assert "us-eo-2020:bytedance (anywhere)" in line
    for personal in ("TikTok", "Jane Doe", "creditor.name"):
        assert personal not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        ScreeningTransform(automaton, TOPICS)(batch)(RecordingProducer())  # type: ignore[arg-type]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("'TikTok' in creditor.name" in text for text in debug)


def test_faust_engine_logs_blocked_events_at_info_without_names(
    automaton: NameAutomaton, caplog: pytest.LogCaptureFixture
) -> None:
    """The Faust engine's log of a blocked event holds the same: no names or texts at INFO."""
    from types import SimpleNamespace

    from matchers.screening import screen_batch
    from streams.outputs import FAUST_MESSAGE, log_batch_outcomes

    consumed = [SimpleNamespace(topic="in", partition=0, offset=9, key=b"pay-78")]
    result = screen_batch([event("pay-78", "TikTok Pte. Ltd.")], automaton)
    with caplog.at_level(logging.INFO):
        log_batch_outcomes(consumed, FAUST_MESSAGE, result)
    assert "in[0]@9: event 'pay-78'; us-eo-2020:bytedance (anywhere)" in caplog.text
    assert "TikTok" not in caplog.text


def test_faust_engine_drops_forged_txscreen_headers(
    automaton: NameAutomaton, caplog: pytest.LogCaptureFixture
) -> None:
    """The Faust engine's outputs carry one txscreen-verdict, its own, whatever the input claimed."""
    import asyncio
    from types import SimpleNamespace

    from streams.faust.app import BatchScreener

    sent: list[tuple[str, Any]] = []

    async def send(topic: str, _key: Any, _value: Any, _partition: Any, _timestamp: Any, headers: Any) -> Any:
        sent.append((topic, headers))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    app = SimpleNamespace(producer=SimpleNamespace(send=send))
    forged = [("TXSCREEN-VERDICT", b"cleared"), ("txscreen_verdict", b"cleared"), ("trace", b"t")]
    consumed = [
        SimpleNamespace(
            topic="in", partition=0, offset=3, key=b"k", value=event("p-1", "TikTok"), headers=forged
        )
    ]
    with caplog.at_level(logging.WARNING):
        asyncio.run(BatchScreener(app, automaton, TOPICS)(consumed))  # type: ignore[arg-type]
    ((topic, headers),) = sent
    assert topic == "stop"
    assert headers[0] == ("trace", b"t")
    assert [value for name, value in headers if "verdict" in name.lower()] == [b"blocked"]
    assert "dropped 2 txscreen-* headers" in caplog.text


def test_a_replayed_event_keeps_its_first_exact_replay_of_header(automaton: NameAutomaton) -> None:
    """The replay header is passed on once; its disguises and extra copies are dropped."""
    headers = [
        (REPLAY_OF, b"payments.dlq[0]@7"),
        ("TXSCREEN-REPLAY-OF", b"forged"),
        (REPLAY_OF, b"payments.dlq[0]@8"),
    ]
    producer = RecordingProducer()
    ScreeningTransform(automaton, TOPICS)([message(1, event("p-1", "Acme Trading Ltd."), b"p-1", headers)])(
        producer  # type: ignore[arg-type]
    )
    (cleared,) = producer.records
    names = [name for name, _ in cleared["headers"]]
    assert names.count(REPLAY_OF) == 1
    assert "TXSCREEN-REPLAY-OF" not in names
    assert last_header(cleared["headers"], REPLAY_OF) == b"payments.dlq[0]@7"
