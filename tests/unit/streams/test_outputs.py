"""The one output step: every engine sends the same records for the same batch, and the core's verdict."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import Message

from matchers.automaton import NameAutomaton
from matchers.screening import screen_batch
from schemas.errors import BrokerError
from schemas.events import MAX_EVENT_BYTES
from schemas.records import Verdict, decode_dead_letter
from streams import outputs
from streams.faust.app import BatchScreener
from streams.file_runner import FileRunSettings, Outputs, run_file
from streams.kafka.backpressure import produce, produce_records
from streams.outputs import KAFKA_MESSAGE, output_records, screen_messages
from streams.progress import ProgressBar
from streams.settings import Topics
from streams.worker.screener import ScreeningTransform
from tests.unit.streams.fakes import RecordingProducer

TOPICS = Topics("in", "ok", "stop", "bad")
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
#: One input of a test batch: (value, key, headers).
Input = tuple[bytes | None, bytes | None, Any]


class _FrozenClock(datetime):
    """``datetime`` whose ``now`` is :data:`NOW`, so two engines stamp the same screening time."""

    @classmethod
    def now(cls, tz: Any = None) -> _FrozenClock:
        return NOW  # type: ignore[return-value]


def _batch(make_event: Callable[..., bytes]) -> list[Input]:
    """A clean, a blocked, a malformed and a forged-header input: (value, key, headers)."""
    return [
        (make_event(event_id="p-1"), b"p-1", [("trace", b"a")]),
        (make_event(event_id="p-2", creditor="TikTok Pte. Ltd."), b"p-2", None),
        (b'{"id": "p-3", "amount": ', None, [("trace", b"c")]),
        (make_event(event_id="p-4"), b"p-4", [("TXSCREEN-VERDICT", b"cleared"), ("t", b"d")]),
    ]


def _kafka_messages(
    batch: list[tuple[bytes | None, bytes | None, Any]], *, partition: int, first: int
) -> list[Message]:
    """confluent-kafka messages of topic ``in`` from ``first`` on, one per (value, key, headers)."""
    return [
        Message(topic="in", partition=partition, offset=first + i, key=k, value=v, headers=h)
        for i, (v, k, h) in enumerate(batch)
    ]


def test_worker_and_faust_send_equal_records_for_the_same_batch(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Kafka worker and the Faust engine send the same topic, key, value and headers per input."""
    monkeypatch.setattr(outputs, "datetime", _FrozenClock)
    batch = _batch(make_event)
    kafka = [
        Message(topic="in", partition=1, offset=10 + i, key=k, value=v, headers=h)
        for i, (v, k, h) in enumerate(batch)
    ]
    faust = [
        SimpleNamespace(topic="in", partition=1, offset=10 + i, key=k, value=v, headers=h)
        for i, (v, k, h) in enumerate(batch)
    ]
    producer = RecordingProducer()
    ScreeningTransform(default_automaton, TOPICS)(kafka)(producer)  # type: ignore[arg-type]
    _result, faust_records = BatchScreener(None, default_automaton, TOPICS).screen(faust)  # type: ignore[arg-type]
    assert producer.records == [record._asdict() for record in faust_records]
    assert [r.topic for r in faust_records] == ["ok", "stop", "bad", "ok"]


def test_file_runner_writes_the_values_of_the_same_records(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes], tmp_path: Path
) -> None:
    """The file runner writes each record's value to its verdict's file, as the output step made it."""
    batch = _batch(make_event)
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(v or b"" for v, _, _ in batch) + b"\n")
    run_file(FileRunSettings(str(source), tmp_path / "out"), default_automaton, clock=lambda: NOW)
    lines = [SimpleNamespace(file=str(source), line=i + 1, value=v) for i, (v, _, _) in enumerate(batch)]
    adapter = outputs.MessageAdapter(
        lambda m: m.value, lambda _m: None, lambda _m: None, lambda m: {"file": m.file, "line": m.line}
    )
    result = screen_messages(lines, adapter, default_automaton, now=NOW)
    written = Outputs.in_dir(tmp_path / "out")
    paths = dict(zip(Verdict, map(str, written.paths()), strict=True))
    records = output_records(lines, adapter, result, paths, log_outcomes=False)
    for path in written.paths():
        expected = [r.value for r in records if r.topic == str(path)]
        assert path.read_bytes().splitlines() == expected


def test_bare_messages_get_the_records_the_general_step_makes(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """An adapter marked bare (no key, no headers) gets the same records as one that reads None for both."""
    values = [v for v, _, _ in _batch(make_event)]
    general = outputs.MessageAdapter(values.__getitem__, lambda _i: None, lambda _i: None, lambda i: {"n": i})
    bare = outputs.MessageAdapter(
        values.__getitem__, lambda _i: None, lambda _i: None, lambda i: {"n": i}, bare=True
    )
    positions = range(len(values))
    result = screen_messages(positions, general, default_automaton, now=NOW)
    paths = {Verdict.CLEARED: "ok", Verdict.BLOCKED: "stop", Verdict.DEAD_LETTER: "bad"}
    expected = output_records(positions, general, result, paths, log_outcomes=False)
    assert output_records(positions, bare, result, paths, log_outcomes=False) == expected
    assert [r.topic for r in expected] == ["ok", "stop", "bad", "ok"]


def test_output_records_log_blocked_and_dead_lettered_inputs_by_position(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes], caplog: pytest.LogCaptureFixture
) -> None:
    """The step logs one INFO line per blocked input and one WARNING per dead letter, naming its offset."""
    batch = _batch(make_event)
    messages = [
        Message(topic="in", partition=0, offset=i, key=k, value=v, headers=h)
        for i, (v, k, h) in enumerate(batch)
    ]
    result = screen_messages(messages, KAFKA_MESSAGE, default_automaton, now=NOW)
    with caplog.at_level(logging.INFO, logger="streams.outputs"):
        output_records(messages, KAFKA_MESSAGE, result, TOPICS.by_verdict())
    text = caplog.text
    assert "blocked in[0]@1: event 'p-2'; us-eo-2020:bytedance (anywhere)" in text
    assert "dead-lettered in[0]@2 (key None)" in text
    assert "dropped 1 txscreen-* header carried by the inputs in[0]@0..3" in text
    assert "TikTok" not in text


def test_the_core_decides_an_output_too_big_and_its_error_matches_the_record(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """With an output limit, the core's error for an oversized output is the one in its dead letter."""
    big = make_event(creditor="TikTok Pte. Ltd.", remittance="x" * 3_000)
    result = screen_batch([make_event(), big], default_automaton, NOW, max_output_bytes=2_000)
    assert result.verdicts == [Verdict.CLEARED, Verdict.DEAD_LETTER]
    assert result.errors == {1: decode_dead_letter(result.values[1]).error}
    assert len(result.values[1]) <= 2_000


def test_an_input_cut_by_its_reader_is_dead_lettered_by_its_true_size(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """A cut input's error names its true size, and its dead letter keeps the first bytes it was given."""
    head = make_event()  # a valid event by itself: the cut still decides
    result = screen_batch([head], default_automaton, NOW, cut={0: 5_000_000})
    letter = decode_dead_letter(result.values[0])
    assert result.errors == {0: f"event is 5000000 bytes, larger than the {MAX_EVENT_BYTES}-byte limit"}
    assert letter.error == result.errors[0]
    assert letter.raw == head.decode()


class _FullQueue:
    """A producer whose queue is full for the first ``full`` produce calls."""

    def __init__(self, full: int) -> None:
        self.full = full
        self.queued: list[tuple[str, bytes | None]] = []
        self.polls = 0

    def produce(self, topic: str, value: bytes | None, key: bytes | None = None, **_kw: Any) -> None:
        if self.full:
            self.full -= 1
            raise BufferError("Local: Queue full")
        self.queued.append((topic, value))

    def poll(self, _timeout: float = 0) -> int:
        self.polls += 1
        return 0


def test_produce_waits_for_room_and_queues_once() -> None:
    """A full queue is polled until the record fits; the record is queued exactly once."""
    producer = _FullQueue(full=3)
    produce(producer, "t", b"v", b"k", headers=None)  # type: ignore[arg-type]
    assert producer.queued == [("t", b"v")]
    assert producer.polls == 3


def test_produce_gives_up_with_a_broker_error_not_a_buffer_error() -> None:
    """A queue that stays full past the bound raises BrokerError naming the topic; no BufferError escapes."""
    producer = _FullQueue(full=10**9)
    with pytest.raises(BrokerError) as caught:
        produce(producer, "t", b"v", timeout=0.1)  # type: ignore[arg-type]
    assert caught.value.topic == "t"
    assert producer.queued == []


def test_progress_bar_ends_its_line_once() -> None:
    """The final draw ends the line; closing afterwards adds nothing, and a draw too soon is skipped."""
    stream = io.StringIO()
    bar = ProgressBar(stream, interval=1.0)
    bar.draw(0.5, "half", 0.0)
    bar.draw(0.6, "skipped", 0.5)
    bar.draw(1.0, "done", 2.0, final=True)
    bar.close()
    text = stream.getvalue()
    assert "skipped" not in text
    assert text.count("\n") == 1
    assert text.endswith("done\n")
    assert "100%" in text
    assert "\x1b" not in text  # plain text: a shorter line is covered with spaces, not escape codes


def test_produce_records_queues_each_record_once_in_order_when_the_queue_is_full() -> None:
    """A batch queued while the queue is full waits for room and queues every record once, in order."""
    producer = _FullQueue(full=2)
    records = [("t", b"k1", b"v1", None), ("t", b"k2", b"v2", None), ("t", None, b"v3", [("h", b"x")])]
    produce_records(producer, records)  # type: ignore[arg-type]
    assert producer.queued == [("t", b"v1"), ("t", b"v2"), ("t", b"v3")]


def test_a_topped_up_batch_counts_every_event_in_its_break_downs(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """Counts of two parts of a batch merge into the counts of the whole, break-downs included (metrics)."""
    messages = _kafka_messages(_batch(make_event), partition=0, first=0)

    def count(part: list[Message]) -> outputs.Counts:
        return outputs.counts(screen_messages(part, KAFKA_MESSAGE, default_automaton, now=NOW))

    whole, merged = count(messages), outputs.merge_counts(count(messages[:2]), count(messages[2:]))
    assert isinstance(merged, outputs.Counts)
    assert dict(merged) == dict(whole)
    assert {k: v for k, v in merged.verdicts.items() if v} == {k: v for k, v in whole.verdicts.items() if v}
    assert merged.dead_letters == whole.dead_letters
    assert merged.hits == whole.hits
    assert outputs.merge_counts({"copied": 2}, {"copied": 3}) == {"copied": 5}
