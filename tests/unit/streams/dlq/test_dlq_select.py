"""Choosing and fixing dead letters for ``txscreen dlq replay`` (pure functions, no Kafka)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Message

from schemas.errors import ConfigError
from schemas.records import DeadLetter, encode_dead_letter
from streams.dlq.selection import (
    FixCommand,
    FixFile,
    Gate,
    Kind,
    NoFix,
    Selection,
    classify,
    decide,
    original_bytes,
    parse_offsets,
    parse_time,
)

SOURCE = {"topic": "payments", "partition": 2, "offset": 41}


def letter(
    raw: bytes = b'{"id": "p-1", "amount": }',
    error: str = "not JSON: unexpected character",
    failed_at: str = "2026-11-30T12:00:00.000Z",
    source: dict[str, object] | None = None,
) -> bytes:
    return encode_dead_letter(raw, error, SOURCE if source is None else source, failed_at)


def decoded(value: bytes) -> DeadLetter:
    from schemas.records import decode_dead_letter

    return decode_dead_letter(value)


def at(offset: int, value: bytes | None, partition: int = 0) -> Message:
    return Message(topic="payments.dlq", partition=partition, offset=offset, value=value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("10..20", (10, 20)), ("10..", (10, None)), ("..20", (None, 20)), ("7", (7, 7)), (" 0..0 ", (0, 0))],
)
def test_offset_ranges_are_inclusive_and_may_be_open(
    raw: str, expected: tuple[int | None, int | None]
) -> None:
    """FROM..TO, FROM.., ..TO and a single offset all parse to inclusive bounds."""
    assert parse_offsets(raw) == expected


@pytest.mark.parametrize("raw", ["..", "a..b", "-1..3", "5..2", ""])
def test_bad_offset_ranges_are_refused(raw: str) -> None:
    """Empty, non-numeric, negative or reversed ranges are ConfigErrors."""
    with pytest.raises(ConfigError, match="--offset"):
        parse_offsets(raw)


def test_times_need_a_zone() -> None:
    """--since/--until take RFC 3339 with a zone; a naive time is refused rather than guessed."""
    assert parse_time("2026-11-30T17:00:00Z", "--since") == datetime(2026, 11, 30, 17, tzinfo=UTC)
    with pytest.raises(ConfigError, match="--until"):
        parse_time("2026-11-30T17:00:00", "--until")


def test_classify_holds_passes_over_or_chooses() -> None:
    """Partition, offset range, failure time and error text sort a record into held, passed over, chosen."""
    one = decoded(letter(failed_at="2026-11-30T12:00:00.000Z", error="Duplicate key 'name'"))
    since = datetime(2026, 11, 30, 11, tzinfo=UTC)
    until = datetime(2026, 11, 30, 13, tzinfo=UTC)
    everything = Selection()
    assert classify(everything, 3, 5, one) == (Kind.CHOSEN, "")
    assert classify(Selection(partitions=frozenset({1})), 3, 5, one)[0] is Kind.HELD
    assert classify(Selection(low=6), 3, 5, one)[0] is Kind.PASSED
    assert classify(Selection(high=4), 3, 5, one)[0] is Kind.HELD
    assert classify(Selection(since=since, until=until), 3, 5, one)[0] is Kind.CHOSEN
    assert classify(Selection(since=until), 3, 5, one)[0] is Kind.PASSED
    assert classify(Selection(until=since), 3, 5, one)[0] is Kind.HELD
    assert classify(Selection(error_contains="duplicate KEY"), 3, 5, one)[0] is Kind.CHOSEN
    assert classify(Selection(error_contains="nesting"), 3, 5, one)[0] is Kind.PASSED
    assert classify(everything, 3, 5, None) == (Kind.PASSED, "not a dead letter record")


def test_gate_stops_a_partition_at_its_first_held_record_and_the_run_at_max() -> None:
    """Records after a held one in the same partition are dropped (left uncommitted); --max ends the run."""
    gate = Gate(Selection(high=1))
    batch = [at(0, letter()), at(0, letter(), partition=1), at(1, letter()), at(2, letter()), at(3, letter())]
    assert [(m.partition(), m.offset()) for m in gate.admit(batch)] == [(0, 0), (1, 0), (0, 1)]
    assert gate.held == {0}
    assert not gate.done

    capped = Gate(Selection(max=2, error_contains="chosen"))
    errors = ["other", "chosen", "other", "chosen", "other", "chosen"]
    batch = [at(offset, letter(error=error)) for offset, error in enumerate(errors)]
    kept = capped.admit(batch)
    assert [m.offset() for m in kept] == [0, 1, 2, 3]
    assert capped.done
    assert capped.chosen == 2
    assert capped.admit([at(6, letter(error="chosen"))]) == []


def test_raw_is_decoded_from_base64_when_the_dead_letter_says_so() -> None:
    """Binary inputs come back byte for byte; garbled base64 is reported, not replayed."""
    binary = b"\xff\xfe\x00 binary"
    one = decoded(letter(raw=binary))
    assert one.raw_encoding == "base64"
    assert original_bytes(one) == binary
    garbled = DeadLetter(raw="**not base64**", raw_encoding="base64", error="e", source={}, failed_at="x")
    assert original_bytes(garbled) is None
    assert decide(Selection(), NoFix(), 0, 0, orjson.dumps(
        {"raw": "**", "raw_encoding": "base64", "error": "e", "source": {}, "failed_at": "x"}
    )).reason == "raw is not valid base64"  # fmt: skip


def test_fix_file_matches_by_source_first_then_by_event_id(tmp_path: Path) -> None:
    """A source line wins over an id line; an unmatched dead letter is skipped; object events are compact."""
    path = tmp_path / "fixed.jsonl"
    path.write_text(
        '{"source": {"topic": "payments", "partition": 2, "offset": 41}, "event": "by-source"}\n'
        "\n"
        '{"id": "p-1", "event": {"id": "p-1", "amount": "1.00"}}\n'
    )
    fixes = FixFile.load(path)
    by_source = decoded(letter(raw=b'{"id": "p-1"'))
    assert fixes.fix(by_source, b'{"id": "p-1"').value == b"by-source"
    elsewhere = decoded(
        letter(raw=b'{"id": "p-1", "amount": 1}', source={"topic": "payments", "partition": 0, "offset": 1})
    )
    assert fixes.fix(elsewhere, b'{"id": "p-1", "amount": 1}').value == b'{"id":"p-1","amount":"1.00"}'
    unknown = decoded(letter(raw=b"garbage", source={}))
    assert fixes.fix(unknown, b"garbage").reason == "no corrected line"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "is not JSON"),
        ('{"event": "x"}', 'either "source" or "id"'),
        (
            '{"id": "a", "source": {"topic": "t", "partition": 0, "offset": 0}, "event": "x"}',
            'either "source"',
        ),
        ('{"id": "a", "event": 5}', "JSON object or a string"),
        ('{"source": {"topic": "t", "partition": "0", "offset": 0}, "event": "x"}', '"source" must be'),
        ('{"id": "", "event": "x"}', "non-empty string"),
    ],
)
def test_bad_fix_file_lines_are_refused_with_their_line_number(line: str, message: str) -> None:
    """Every malformed line stops the run before anything is read, naming FILE:LINE."""
    with pytest.raises(ConfigError, match=message) as caught:
        FixFile.parse([b"", line.encode()], "fixes.jsonl")
    assert "fixes.jsonl:2" in str(caught.value)


def test_repeated_sources_or_ids_make_the_fix_file_ambiguous() -> None:
    """Two lines for the same source or the same id are refused: one dead letter, one fix."""
    source = b'{"source": {"topic": "t", "partition": 0, "offset": 3}, "event": "x"}'
    with pytest.raises(ConfigError, match="repeats the source"):
        FixFile.parse([source, source], "f")
    with pytest.raises(ConfigError, match="repeats the id"):
        FixFile.parse([b'{"id": "a", "event": "x"}', b'{"id": "a", "event": "y"}'], "f")


def test_fix_command_output_is_replayed_and_failures_skip_with_a_reason() -> None:
    """stdout (without its line break) is the fixed event; a non-zero exit or no output skips the record."""
    one = decoded(letter())
    assert FixCommand("tr a-z A-Z").fix(one, b"abc\n").value == b"ABC"
    assert FixCommand("cat >/dev/null; exit 3").fix(one, b"abc").reason == "fix command exited 3"
    assert FixCommand("cat >/dev/null").fix(one, b"abc").reason == "fix command printed nothing"
    assert FixCommand("sleep 5", timeout=0.2).fix(one, b"abc").reason.startswith("fix command took over")


def test_decide_fixes_only_chosen_dead_letters() -> None:
    """A passed-over record is never given to the fix; a chosen one is replayed as the fix returns it."""
    value = letter(raw=b'{"id": "p-9"}', error="missing amount")
    chosen = decide(Selection(), FixCommand("sed s/p-9/p-10/"), 0, 0, value)
    assert chosen.kind is Kind.CHOSEN
    assert chosen.value == b'{"id": "p-10"}'
    passed = decide(Selection(error_contains="nesting"), FixCommand("exit 1"), 0, 0, value)
    assert passed.kind is Kind.PASSED
    assert passed.value is None
    assert passed.reason == "error does not contain the --error-contains text"
