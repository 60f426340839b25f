"""The Kafka commands' edges that need no broker: fail closed, JSON Lines keys, printed records."""

from __future__ import annotations

import orjson
import pytest
from confluent_kafka import Message

from streams.cli import main
from streams.kafka.publisher import event_key
from streams.kafka.reader import record_json


def test_run_with_a_watchlist_that_does_not_load_exits_2_before_any_kafka_client(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Fail closed: the list is loaded before anything talks to Kafka (no broker is listening here)."""
    status = main(["run", "--watchlist", "/nonexistent/list.yaml", "--bootstrap-servers", "127.0.0.1:1"])
    assert status == 2
    err = capsys.readouterr().err
    assert "txscreen: error:" in err
    assert "/nonexistent/list.yaml" in err
    assert "Traceback" not in err


def test_bad_kafka_flags_exit_2_with_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    """A bad -X option stops the command with the flag named, before anything is loaded."""
    assert main(["topics", "create", "-X", "enable.auto.commit=true"]) == 2
    assert "enable.auto.commit" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("line", "key"),
    [
        (b'{"id": "pay-1", "amount": "1"}', b"pay-1"),
        (b'{"id": 7}', None),
        (b'{"id": ""}', None),
        (b"[1, 2]", None),
        (b"not json", None),
        (b'{"id": "pay-2", "amount": ', None),
    ],
)
def test_jsonl_key_is_the_event_id_when_there_is_one(line: bytes, key: bytes | None) -> None:
    """produce keys a record by its event id; lines without a string id go without a key."""
    assert event_key(line) == key


def test_consume_prints_records_as_json_with_decoded_headers() -> None:
    """consume shows topic, partition, offset, key, headers and the parsed value (text or base64 else)."""
    json_record = Message(
        topic="t",
        partition=0,
        offset=3,
        key=b"k",
        value=b'{"a": 1}',
        headers=[("txscreen-verdict", b"blocked")],
    )
    assert record_json(json_record) == {
        "topic": "t",
        "partition": 0,
        "offset": 3,
        "key": "k",
        "headers": [["txscreen-verdict", "blocked"]],
        "value": {"a": 1},
    }
    binary = record_json(Message(topic="t", partition=0, offset=4, value=b"\xff\xfe"))
    assert binary["value_encoding"] == "base64"
    assert orjson.dumps(binary)


def test_consume_shows_repeated_headers_as_repeated() -> None:
    """Two headers of one name print as two pairs in record order, not folded into one."""
    message = Message(
        topic="t",
        partition=0,
        offset=1,
        value=b"{}",
        headers=[("txscreen-verdict", b"cleared"), ("txscreen-verdict", b"blocked"), ("bin", b"\xff")],
    )
    assert record_json(message)["headers"] == [
        ["txscreen-verdict", "cleared"],
        ["txscreen-verdict", "blocked"],
        ["bin", "/w==", "base64"],
    ]


def test_consume_marks_a_binary_key_as_base64() -> None:
    """A key that is not UTF-8 prints as base64 with "key_encoding": "base64"; a text key is unmarked."""
    binary = record_json(Message(topic="t", partition=0, offset=1, key=b"\xff\x00", value=b"{}"))
    assert binary["key"] == "/wA="
    assert binary["key_encoding"] == "base64"
    assert "key_encoding" not in record_json(Message(topic="t", partition=0, offset=2, key=b"k", value=b"{}"))


def test_faust_engine_refuses_an_explicit_exactly_once(capsys: pytest.CaptureFixture[str]) -> None:
    """`run --engine faust --guarantee exactly-once` stops with one sentence: Faust is at-least-once only."""
    assert main(["run", "--engine", "faust", "--guarantee", "exactly-once"]) == 2
    assert "at-least-once only" in capsys.readouterr().err


def test_unknown_engine_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """An engine other than kafka or faust stops with one sentence naming the choices."""
    assert main(["run", "--engine", "flink"]) == 2
    assert "kafka, faust" in capsys.readouterr().err
