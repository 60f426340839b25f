"""Blocked records say where their event came from (``source``), in every engine, as dead letters do."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import orjson
import pytest
from confluent_kafka import Message

from matchers.automaton import NameAutomaton
from matchers.screening import screen_batch
from matchers.sources import load_watchlists
from schemas.records import decode_blocked
from streams.faust.app import BatchScreener
from streams.file_runner import FileRunSettings, Outputs, run_file
from streams.settings import Topics
from streams.worker.screener import ScreeningTransform

SCHEMA = Path(__file__).resolve().parents[3] / "schemas" / "blocked_record.v1.schema.json"
TOPICS = Topics("in", "ok", "stop", "bad")


@pytest.fixture(scope="module")
def automaton() -> NameAutomaton:
    """The built-in list only."""
    return NameAutomaton(load_watchlists(["builtin"]))


def validate(value: bytes) -> dict[str, Any]:
    """The blocked record, checked against its JSON schema."""
    record: dict[str, Any] = orjson.loads(value)
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(record)
    return record


def test_file_runner_blocked_records_name_file_and_line(
    tmp_path: Path, automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """A blocked line's record carries {"file", "line"}, the line counted as the dead letters count it."""
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join([make_event(), b"", make_event(remittance="TikTok ads")]) + b"\n")
    run_file(FileRunSettings(str(source), tmp_path / "out"), automaton)
    (line,) = Outputs.in_dir(tmp_path / "out").blocked.read_bytes().splitlines()
    assert validate(line)["source"] == {"file": str(source), "line": 3}


def test_kafka_worker_blocked_records_name_topic_partition_offset(
    automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """The Kafka worker's blocked record carries the input's topic, partition and offset."""
    produced: list[bytes] = []
    producer = SimpleNamespace(
        produce=lambda _topic, value, *_a, **_k: produced.append(value), poll=lambda *_: 0
    )
    messages = [
        Message(topic="in", partition=2, offset=70 + i, key=None, value=value, headers=None)
        for i, value in enumerate([make_event(), make_event(remittance="TikTok ads")])
    ]
    ScreeningTransform(automaton, TOPICS)(messages)(producer)  # type: ignore[arg-type]
    assert validate(produced[1])["source"] == {"topic": "in", "partition": 2, "offset": 71}


def test_faust_blocked_records_name_topic_partition_offset(
    automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """The Faust engine's blocked record carries the input's topic, partition and offset."""
    value = make_event(remittance="TikTok ads")
    messages = [SimpleNamespace(topic="in", partition=0, offset=9, key=None, headers=None, value=value)]
    _result, records = BatchScreener(None, automaton, TOPICS).screen(messages)  # type: ignore[arg-type]
    assert validate(records[0].value)["source"] == {"topic": "in", "partition": 0, "offset": 9}


def test_source_is_asked_only_for_blocked_and_dead_lettered_inputs(
    automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """source_of is not called for cleared inputs, so the fast path pays nothing for it."""
    asked: list[int] = []

    def source_of(i: int) -> dict[str, Any]:
        asked.append(i)
        return {"file": "in.jsonl", "line": i + 1}

    raws = [make_event(), make_event(remittance="TikTok ads"), make_event(), b"{}", make_event()]
    result = screen_batch(raws, automaton, datetime(2026, 1, 1, tzinfo=UTC), source_of)
    assert sorted(asked) == [1, 3]
    assert decode_blocked(result.values[1]).source == {"file": "in.jsonl", "line": 2}


def test_watchlist_version_is_the_full_sha256(
    automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """watchlist_version is sha256: and 64 hex digits, in the record as in the automaton."""
    result = screen_batch([make_event(remittance="TikTok ads")], automaton)
    record = validate(result.values[0])
    assert record["watchlist_version"] == automaton.version
    assert len(automaton.version) == len("sha256:") + 64
    assert int(automaton.version.removeprefix("sha256:"), 16) >= 0
