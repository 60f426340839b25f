"""The file/stdin runner: lines in, cleared/blocked/dead-letter files out, whatever the batch size."""

from __future__ import annotations

import base64
import io
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.automaton import NameAutomaton
from matchers.sources import BUILTIN, load_watchlists
from schemas.errors import ConfigError
from schemas.records import dead_letter_raw, decode_blocked, decode_dead_letter
from streams import file_runner
from streams.file_runner import (
    PARTIAL_SUFFIX,
    FileRunSettings,
    LineReader,
    Outputs,
    check_input,
    run_file,
)

ROOT = Path(__file__).resolve().parents[3]
OFAC_EXTRACT = ROOT / "tests" / "data" / "ofac" / "extract"
FIXED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LIMIT = 2000  # the event size limit of the mixed input's runs

# One line per case; the terminator of each is given with it. Cleared lines are written oddly on purpose
# (spacing, key order, unknown fields, a number amount) to show they come out byte for byte.
CLEAN = (
    b'{"id": "pay-1",  "created_at": "2020-10-01T09:30:00Z", "amount": 12.50, "currency": "EUR", '
    b'"debtor": {"name": "J\xc3\xbcrgen M\xc3\xbcller"}, "creditor": {"name": "Northwind Trading GmbH"}, '
    b'"remittance": "invoice 42", "channel": "sepa"}'
)
TIKTOK = (
    b'{"id":"pay-2","created_at":"2020-10-01T10:00:00Z","amount":"99.00","currency":"USD",'
    b'"debtor":{"name":"Mary Smith"},"creditor":{"name":"Ads Agency LLC"},"remittance":"TikTok ads Q4"}'
)
OFAC = (
    b'{"id":"pay-4","created_at":"2021-03-01T00:00:00Z","amount":"5000.00","currency":"USD",'
    b'"debtor":{"name":"Harbor Shipping Ltd"},"creditor":{"name":"Banco Nacional de Cuba"}}'
)
MALFORMED = b'{"id": "pay-5", "created_at": '
NOT_UTF8 = (
    b'{"id":"pay-6","created_at":"2020-10-01T10:00:00Z","amount":"1.00","currency":"USD",'
    b'"debtor":{"name":"Caf\xe9 Latin-1"},"creditor":{"name":"Bob"}}'
)
TOO_LONG = (
    b'{"id":"pay-8","created_at":"2020-10-01T10:00:00Z","amount":"1.00","currency":"USD",'
    b'"debtor":{"name":"Ann"},"creditor":{"name":"Bob"},"remittance":"' + b"x" * 3000 + b'"}'
)
TIKTOK_BEFORE = (
    b'{"id":"pay-9","created_at":"2020-08-10T10:00:00Z","amount":"7.00","currency":"USD",'
    b'"debtor":{"name":"Ann"},"creditor":{"name":"Bob"},"remittance":"TikTok ads, before the order"}'
)
LAST = b'{"id":"pay-10","created_at":"2020-10-01T10:00:00Z","amount":1,"currency":"JPY","debtor":{"name":"Ann"},"creditor":{"name":"Bob"}}'  # noqa: E501
MIXED_LINES = [
    (CLEAN, b"\n"),
    (TIKTOK, b"\r\n"),
    (b"", b"\n"),
    (OFAC, b"\n"),
    (MALFORMED, b"\n"),
    (NOT_UTF8, b"\r\n"),
    (b"  \t ", b"\n"),
    (TOO_LONG, b"\r\n"),
    (TIKTOK_BEFORE, b"\n"),
    (LAST, b"\r\n"),
]
MIXED = b"".join(line + end for line, end in MIXED_LINES)


@pytest.fixture(scope="module")
def automaton() -> NameAutomaton:
    return NameAutomaton(load_watchlists([BUILTIN, str(OFAC_EXTRACT)]))


def run(tmp_path: Path, automaton: NameAutomaton, data: bytes = MIXED, out: str = "out", **kwargs: object):
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "events.jsonl"
    source.write_bytes(data)
    settings_ = FileRunSettings(str(source), tmp_path / out, **kwargs)  # type: ignore[arg-type]
    return run_file(settings_, automaton, clock=lambda: FIXED)


def lines_of(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n")
    return data.split(b"\n")[:-1]


def test_mixed_input_counts_add_up(tmp_path: Path, automaton: NameAutomaton) -> None:
    """Every line read is cleared, blocked, dead-lettered or skipped as blank, and the summary says which."""
    summary = run(tmp_path, automaton, max_event_bytes=LIMIT)
    assert (summary.read, summary.cleared, summary.blocked, summary.dead_lettered, summary.skipped) == (
        10,
        3,
        2,
        3,
        2,
    )
    assert summary.read == summary.cleared + summary.blocked + summary.dead_lettered + summary.skipped
    assert summary.events == 8
    assert summary.bytes_read == len(MIXED)
    assert summary.watchlist_version == automaton.version
    assert summary.outputs == Outputs.in_dir(tmp_path / "out")
    assert summary.elapsed_seconds > 0
    assert summary.events_per_second > 0


def test_cleared_lines_are_the_input_bytes(tmp_path: Path, automaton: NameAutomaton) -> None:
    """Cleared lines are the input lines byte for byte, their terminator (LF or CRLF) written as LF."""
    summary = run(tmp_path, automaton, max_event_bytes=LIMIT)
    assert lines_of(summary.outputs.cleared) == [CLEAN, TIKTOK_BEFORE, LAST]


def test_blocked_records_carry_the_event_and_the_hits(tmp_path: Path, automaton: NameAutomaton) -> None:
    """A blocked record embeds the event unchanged and names the entity, list, field, offsets and rule."""
    summary = run(tmp_path, automaton, max_event_bytes=LIMIT)
    lines = lines_of(summary.outputs.blocked)
    assert len(lines) == 2
    tiktok, ofac = (decode_blocked(line) for line in lines)
    assert lines[0].startswith(b'{"event":' + TIKTOK + b",")
    assert lines[1].startswith(b'{"event":' + OFAC + b",")
    assert tiktok.event == orjson.loads(TIKTOK)
    assert tiktok.verdict == "blocked"
    assert tiktok.watchlist_version == automaton.version
    assert tiktok.screened_at == "2026-01-02T03:04:05.000Z"
    [hit] = tiktok.hits
    assert (hit.entity_id, hit.list_id, hit.field, hit.matched_text, hit.rule, hit.programs) == (
        "us-eo-2020:bytedance",
        "us-eo-2020",
        "remittance",
        "TikTok",
        "anywhere",
        ["EO13942"],
    )
    assert (hit.start, hit.end) == (0, 6)
    [hit] = ofac.hits
    assert (hit.entity_id, hit.entity_name, hit.field, hit.matched_text) == (
        "ofac-sdn:306",
        "BANCO NACIONAL DE CUBA",
        "creditor.name",
        "Banco Nacional de Cuba",
    )


def test_dead_letters_carry_file_line_and_reason(tmp_path: Path, automaton: NameAutomaton) -> None:
    """Malformed JSON, non-UTF-8 and over-long lines become dead letters with file, line and reason."""
    summary = run(tmp_path, automaton, max_event_bytes=LIMIT)
    malformed, not_utf8, too_long = (decode_dead_letter(line) for line in lines_of(summary.outputs.dlq))
    source = str(tmp_path / "events.jsonl")
    assert malformed.source == {"file": source, "line": 5}
    assert malformed.error.startswith("invalid JSON")
    assert dead_letter_raw(malformed) == MALFORMED
    assert not_utf8.source == {"file": source, "line": 6}
    assert not_utf8.raw_encoding == "base64"
    assert base64.b64decode(not_utf8.raw) == NOT_UTF8
    assert "UTF-8" in not_utf8.error
    assert too_long.source == {"file": source, "line": 8}
    assert too_long.error == f"event is {len(TOO_LONG)} bytes, larger than the {LIMIT}-byte limit"
    assert dead_letter_raw(too_long) == TOO_LONG[:LIMIT]
    assert too_long.failed_at == "2026-01-02T03:04:05.000Z"


def test_repeated_key_and_deep_nesting_are_dead_letters(tmp_path: Path, automaton: NameAutomaton) -> None:
    """A creditor naming itself twice (the first a listed bank) and a 100,000-level extra field land in
    dlq.jsonl with their reasons, and nothing is cleared."""
    head = OFAC[: OFAC.index(b'"creditor"')]
    repeated = head + b'"creditor":{"name":"Banco Nacional de Cuba","name":"Bob"}}'
    deep = head + b'"creditor":{"name":"Bob"},"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    summary = run(tmp_path, automaton, data=repeated + b"\n" + deep + b"\n")
    assert (summary.cleared, summary.blocked, summary.dead_lettered) == (0, 0, 2)
    first, second = (decode_dead_letter(line) for line in lines_of(summary.outputs.dlq))
    assert (first.error, first.source["line"], dead_letter_raw(first)) == (
        'repeated key "name" at $.creditor',
        1,
        repeated,
    )
    assert (second.error, second.source["line"]) == (
        "event nests 100001 levels deep, more than the 64 allowed",
        2,
    )
    assert summary.outputs.cleared.read_bytes() == b""


@pytest.mark.parametrize("batch_size", [1, 3, 1000])
def test_batch_boundaries_do_not_matter(tmp_path: Path, automaton: NameAutomaton, batch_size: int) -> None:
    """The three outputs are byte-identical for batch sizes 1, 3 and 1000."""
    reference = run(tmp_path, automaton, out="reference", max_event_bytes=LIMIT, batch_size=2)
    summary = run(tmp_path, automaton, out="sized", max_event_bytes=LIMIT, batch_size=batch_size)
    for got, expected in zip(summary.outputs.paths(), reference.outputs.paths(), strict=True):
        assert got.read_bytes() == expected.read_bytes()
    assert (summary.cleared, summary.blocked, summary.dead_lettered, summary.skipped) == (
        reference.cleared,
        reference.blocked,
        reference.dead_lettered,
        reference.skipped,
    )


@pytest.mark.parametrize("batch_size", [1, 3])
def test_two_threads_write_what_one_writes(
    tmp_path: Path, automaton: NameAutomaton, batch_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --threads 2 the native triage of the next batch runs on its own thread and the outputs and
    counts are byte for byte those of one thread (the pure engine keeps to one thread)."""
    threads: list[str] = []
    triage = file_runner.triage_batch

    def spied(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return triage(*args, **kwargs)

    monkeypatch.setattr(file_runner, "triage_batch", spied)
    one = run(tmp_path, automaton, out="one", max_event_bytes=LIMIT, batch_size=batch_size, threads=1)
    assert set(threads) == {threading.main_thread().name}
    threads.clear()
    two = run(tmp_path, automaton, out="two", max_event_bytes=LIMIT, batch_size=batch_size, threads=2)
    on = "txscreen-triage" if automaton.engine.native else threading.main_thread().name
    assert threads
    assert all(name.startswith(on) for name in threads)
    for got, expected in zip(two.outputs.paths(), one.outputs.paths(), strict=True):
        assert got.read_bytes() == expected.read_bytes()
    assert (two.read, two.cleared, two.blocked, two.dead_lettered, two.skipped) == (
        one.read,
        one.cleared,
        one.blocked,
        one.dead_lettered,
        one.skipped,
    )


def test_stdin_input(tmp_path: Path, automaton: NameAutomaton) -> None:
    """Input ``-`` reads the given stdin stream and names the source ``-`` in dead letters."""
    settings_ = FileRunSettings("-", tmp_path / "out", max_event_bytes=LIMIT)
    progress = io.StringIO()
    summary = run_file(settings_, automaton, stdin=io.BytesIO(MIXED), progress=progress)
    assert (summary.read, summary.cleared, summary.blocked, summary.dead_lettered) == (10, 3, 2, 3)
    assert decode_dead_letter(lines_of(summary.outputs.dlq)[0]).source == {"file": "-", "line": 5}
    assert progress.getvalue() == ""  # no size to measure progress against


def test_last_line_without_newline_and_empty_input(tmp_path: Path, automaton: NameAutomaton) -> None:
    """A last line without a terminator is screened; an empty input gives three empty files."""
    summary = run(tmp_path / "a", automaton, data=CLEAN + b"\n" + LAST)
    assert lines_of(summary.outputs.cleared) == [CLEAN, LAST]
    summary = run(tmp_path / "b", automaton, data=b"")
    assert summary.read == 0
    assert [p.read_bytes() for p in summary.outputs.paths()] == [b"", b"", b""]


def test_a_file_without_newlines_is_not_held_whole(tmp_path: Path, automaton: NameAutomaton) -> None:
    """A 3 MB line is dead-lettered by its size with only its head kept, and the next line still cleared."""
    huge = b'{"id":"' + b"y" * 3_000_000
    summary = run(tmp_path, automaton, data=huge + b"\r\n" + CLEAN + b"\n", max_event_bytes=LIMIT)
    [dead] = [decode_dead_letter(line) for line in lines_of(summary.outputs.dlq)]
    assert dead.error == f"event is {len(huge)} bytes, larger than the {LIMIT}-byte limit"
    assert dead_letter_raw(dead) == huge[:LIMIT]
    assert dead.source["line"] == 1
    assert lines_of(summary.outputs.cleared) == [CLEAN]


def test_outputs_appear_only_when_complete(tmp_path: Path, automaton: NameAutomaton) -> None:
    """A run that fails midway leaves .partial files, the earlier complete outputs and a finished bar line."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "cleared.jsonl").write_bytes(b"from an earlier run\n")
    source = tmp_path / "events.jsonl"
    source.write_bytes(MIXED)
    calls = []

    def failing_clock() -> datetime:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return FIXED

    progress = io.StringIO()
    with pytest.raises(RuntimeError):
        run_file(
            FileRunSettings(str(source), out, batch_size=2), automaton, progress=progress, clock=failing_clock
        )
    assert progress.getvalue().endswith("\n")  # the bar's line is ended for the error that follows
    assert (out / "cleared.jsonl").read_bytes() == b"from an earlier run\n"
    assert not (out / "blocked.jsonl").exists()
    partial = out / f"cleared.jsonl{PARTIAL_SUFFIX}"
    assert lines_of(partial) == [CLEAN]  # the batches screened before the failure, flushed


def test_progress_bar_for_a_file(tmp_path: Path, automaton: NameAutomaton) -> None:
    """Given a stream, a run over a file draws a bar ending at 100% with the bytes and events/s."""
    source = tmp_path / "events.jsonl"
    source.write_bytes(MIXED)
    progress = io.StringIO()
    run_file(FileRunSettings(str(source), tmp_path / "out"), automaton, progress=progress)
    text = progress.getvalue()
    assert text.startswith("\r[")
    assert text.endswith("\n")
    assert text.rstrip().endswith(" events/s")  # (padded with spaces when the previous draw was longer)
    assert "100%" in text.rsplit("\r", 1)[-1]
    assert "#" * 28 in text


def test_output_folder_is_created(tmp_path: Path, automaton: NameAutomaton) -> None:
    """A missing output folder is created, parents included."""
    source = tmp_path / "events.jsonl"
    source.write_bytes(CLEAN + b"\n")
    summary = run_file(FileRunSettings(str(source), tmp_path / "a" / "b"), automaton)
    assert lines_of(summary.outputs.cleared) == [CLEAN]
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == [
        "blocked.jsonl",
        "cleared.jsonl",
        "dlq.jsonl",
    ]


def test_unusable_paths_are_config_errors(tmp_path: Path, automaton: NameAutomaton) -> None:
    """A missing input, a folder as input and an output path under a file fail with one sentence each."""
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    with pytest.raises(ConfigError, match="does not exist"):
        check_input(str(tmp_path / "missing.jsonl"))
    with pytest.raises(ConfigError, match="is a folder"):
        check_input(str(tmp_path))
    check_input("-")
    with pytest.raises(ConfigError, match="cannot create the output folder"):
        run_file(FileRunSettings(str(blocker), blocker / "out"), automaton)
    with pytest.raises(ConfigError, match=r"cannot read the input file .*: No such file"):
        run_file(FileRunSettings(str(tmp_path / "missing.jsonl"), tmp_path / "out"), automaton)


@pytest.mark.parametrize(("field", "value"), [("batch_size", 0), ("max_event_bytes", 0)])
def test_settings_reject_nonsense(tmp_path: Path, field: str, value: int) -> None:
    """A batch size or event size limit below 1 is a ConfigError."""
    with pytest.raises(ConfigError, match="at least 1"):
        FileRunSettings("-", tmp_path, **{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("threads", [0, 3])
def test_settings_take_one_or_two_threads(tmp_path: Path, threads: int) -> None:
    """A thread count other than 1 or 2 is a ConfigError."""
    with pytest.raises(ConfigError, match="must be 1 or 2"):
        FileRunSettings("-", tmp_path, threads=threads)


class Trickle:
    """A binary stream that hands out at most ``step`` bytes a read, to put chunk edges everywhere."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = io.BytesIO(data)
        self._step = step

    def read1(self, size: int) -> bytes:
        return self._data.read(min(size, self._step))


def reference_lines(data: bytes, limit: int) -> tuple[list[bytes], dict[int, int]]:
    """The obviously-correct split: LF ends a line, a CR before it goes too; long lines cut to a head."""
    parts = data.split(b"\n")
    last = parts.pop()
    lines = [p[:-1] if p.endswith(b"\r") else p for p in parts] + ([last] if last else [])
    over = {i + 1: len(line) for i, line in enumerate(lines) if len(line) > limit}
    return [line[:limit] for line in lines], over


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"a", b"\n", b"\r", b"\r\n", b" ", b"{}", b"xyz"]), max_size=60).map(
        b"".join
    ),
    step=st.integers(1, 9),
    limit=st.integers(1, 12),
)
def test_line_reader_matches_a_plain_split(data: bytes, step: int, limit: int) -> None:
    """Whatever the chunk edges and limit, the reader gives the lines and long-line sizes of a plain split."""
    reader = LineReader(Trickle(data, step), limit)  # type: ignore[arg-type]
    got = [line for lines in reader.chunks() for line in lines]
    expected, over = reference_lines(data, limit)
    assert got == expected
    assert reader.over_long == over
    assert reader.lines == len(expected)
    assert reader.bytes_read == len(data)
