"""``txscreen screen`` and ``txscreen check``: end to end in a subprocess, and their option parsing."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from schemas.errors import ConfigError
from schemas.records import Hit, decode_blocked, decode_dead_letter
from streams.cli.screen import format_hits, format_summary, parse_at, register, settings_from_args
from streams.file_runner import FileRunSettings, Outputs, RunSummary
from tests.cli_runner import run_txscreen

ROOT = Path(__file__).resolve().parents[4]
DATA = ROOT / "tests" / "data"
OFAC_EXTRACT = DATA / "ofac" / "extract"

CLEAN = (
    b'{"id":"pay-1","created_at":"2020-10-01T09:30:00Z","amount":"12.50","currency":"EUR",'
    b'"debtor":{"name":"Ann Lee"},"creditor":{"name":"Northwind Trading GmbH"},"remittance":"invoice 42"}'
)
TIKTOK = (
    b'{"id":"pay-2","created_at":"2020-10-01T10:00:00Z","amount":"99.00","currency":"USD",'
    b'"debtor":{"name":"Mary Smith"},"creditor":{"name":"Ads Agency LLC"},"remittance":"TikTok ads Q4"}'
)
EVENTS = CLEAN + b"\n" + TIKTOK + b"\r\n\n" + b"not json\n"


def txscreen(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run the console script's module as a user would, without any TXSCREEN_* variables."""
    return run_txscreen(*args, stdin=stdin, timeout=60, clean_env=True)


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a failed command, checked to be one clear sentence without traceback."""
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("txscreen: error: ")
    return lines[0]


def test_screen_end_to_end(tmp_path: Path) -> None:
    """``screen`` writes the three files, prints the summary on stdout and exits 0 despite a block."""
    source = tmp_path / "events.jsonl"
    source.write_bytes(EVENTS)
    out = tmp_path / "out"
    result = txscreen("screen", str(source), "--out", str(out), "--watchlist", "builtin")
    assert result.returncode == 0, result.stderr
    assert "us-eo-2020: 2 entities" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["blocked.jsonl", "cleared.jsonl", "dlq.jsonl"]
    assert (out / "cleared.jsonl").read_bytes() == CLEAN + b"\n"
    [blocked] = (out / "blocked.jsonl").read_bytes().splitlines()
    assert decode_blocked(blocked).hits[0].matched_text == "TikTok"
    [dead] = (out / "dlq.jsonl").read_bytes().splitlines()
    assert decode_dead_letter(dead).source == {"file": str(source), "line": 4}
    summary = result.stdout.splitlines()
    assert summary[0].startswith(f"screened 3 events from {source} in ")
    assert "events/s) against watchlist sha256:" in summary[0]
    assert summary[1].split() == ["cleared", "1", str(out / "cleared.jsonl")]
    assert summary[2].split() == ["blocked", "1", str(out / "blocked.jsonl")]
    assert summary[3].split() == ["dead-lettered", "1", str(out / "dlq.jsonl")]
    assert summary[4].split() == ["blank", "lines", "1", "skipped"]


def test_screen_reads_stdin(tmp_path: Path) -> None:
    """``screen -`` screens standard input and says so in the summary."""
    result = txscreen("screen", "-", "--out", str(tmp_path), "--watchlist", "builtin", stdin=EVENTS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("screened 3 events from stdin in ")
    assert (tmp_path / "cleared.jsonl").read_bytes() == CLEAN + b"\n"


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        (DATA / "ofac" / "truncated-row", "sdn.csv"),
        (DATA / "txscreen_list" / "bad-syntax.yaml", "bad-syntax.yaml"),
    ],
)
def test_broken_watchlist_stops_before_the_input_is_opened(tmp_path: Path, broken: Path, reason: str) -> None:
    """A list that does not load exits 2 with one sentence, never opens the input and writes nothing."""
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes: the run would time out
    out = tmp_path / "out"
    result = txscreen(
        "screen", str(fifo), "--out", str(out), "--watchlist", "builtin", "--watchlist", str(broken)
    )
    assert reason in one_error(result)
    assert not out.exists()
    assert result.stdout == ""


def test_ofac_folder_without_end_of_file_byte_needs_extract(tmp_path: Path) -> None:
    """OFAC files without their end-of-file byte stop ``screen`` with exit 2 naming the file; ``check`` and
    ``screen`` load them when the source is given as ``extract:FOLDER``."""
    folder = tmp_path / "hand-made"
    shutil.copytree(OFAC_EXTRACT, folder)
    for path in folder.iterdir():
        path.write_bytes(path.read_bytes().removesuffix(b"\x1a"))
    source = tmp_path / "events.jsonl"
    source.write_bytes(EVENTS)
    out = tmp_path / "out"
    refused = txscreen("screen", str(source), "--out", str(out), "--watchlist", str(folder))
    assert one_error(refused) == (
        f"txscreen: error: {folder / 'sdn.csv'}: sdn.csv does not end with the \\x1a end-of-file byte OFAC "
        "writes, so it may be cut short (for a hand-made extract, give the source as extract:FOLDER)"
    )
    assert not out.exists()
    screened = txscreen("screen", str(source), "--out", str(out), "--watchlist", f"extract:{folder}")
    assert screened.returncode == 0, screened.stderr
    assert f"ofac-sdn: 8 entities, 46 names (11 weak) from extract:{folder}" in screened.stderr
    checked = txscreen("check", "BNC", "--field", "creditor.name", "--watchlist", f"extract:{folder}")
    assert checked.returncode == 0, checked.stderr
    assert "ofac-sdn:306" in checked.stdout


def test_extract_source_in_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``TXSCREEN_WATCHLIST=extract:FOLDER`` (as ``run`` and the Faust engine are configured too) loads it."""
    folder = tmp_path / "hand-made"
    shutil.copytree(OFAC_EXTRACT, folder)
    (folder / "sdn.csv").write_bytes((folder / "sdn.csv").read_bytes().removesuffix(b"\x1a"))
    monkeypatch.setenv("TXSCREEN_WATCHLIST", f"builtin;extract:{folder}")
    result = run_txscreen("check", "BNC", "--field", "creditor.name", timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"from extract:{folder}" in result.stderr
    assert "ofac-sdn:306" in result.stdout


def test_missing_input_exits_2_before_loading_lists(tmp_path: Path) -> None:
    """A missing input file is one sentence and exit 2, said before any list is loaded."""
    missing = tmp_path / "missing.jsonl"
    result = txscreen("screen", str(missing), "--out", str(tmp_path / "out"))
    assert one_error(result) == f"txscreen: error: the input file {str(missing)!r} does not exist"
    assert not (tmp_path / "out").exists()


def test_unwritable_output_folder_exits_2(tmp_path: Path) -> None:
    """An output folder that cannot be created is one sentence and exit 2."""
    source = tmp_path / "events.jsonl"
    source.write_bytes(EVENTS)
    result = txscreen("screen", str(source), "--out", str(source / "out"), "--watchlist", "builtin")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith("txscreen: error: cannot create the output folder")


def test_check_finds_hamas_in_the_default_lists() -> None:
    """``check "payment to HAMAS"`` against the bundled lists shows the OFAC entity with offsets and rule."""
    result = txscreen("check", "payment to HAMAS")
    assert result.returncode == 0, result.stderr
    assert "no --watchlist given" in result.stderr
    header, columns, row = result.stdout.splitlines()
    assert header.startswith("'payment to HAMAS' as remittance at ")
    assert header.endswith(": 1 hit")
    assert columns.split() == (
        "ENTITY LIST ENTITY NAME LISTED AS MATCHED TEXT AT RULE IN FORCE AT PROGRAMS".split()
    )
    assert row.split() == "ofac-sdn:4695 ofac-sdn HAMAS HAMAS HAMAS 11-16 anywhere both FTO, SDGT".split()


def test_check_does_not_hit_hamasaki_in_the_default_lists() -> None:
    """A name that merely starts with a listed word is not a hit: whole words only."""
    result = txscreen("check", "Hamasaki Trading")
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    assert line.startswith("'Hamasaki Trading' as remittance at ")
    assert line.endswith(": no hits")


@pytest.mark.parametrize(("at", "hits"), [("2020-08-10", False), ("2020-10-01", True)])
def test_check_at_respects_effective_dates(at: str, hits: bool) -> None:
    """TikTok is cleared before EO 13942 took effect (2020-09-20) and hit while it was in force."""
    result = txscreen("check", "TikTok ads", "--at", at, "--watchlist", "builtin")
    assert result.returncode == 0, result.stderr
    assert ("us-eo-2020:bytedance" in result.stdout) is hits
    assert result.stdout.startswith(f"'TikTok ads' as remittance at {at}T00:00:00.000Z: ")


@pytest.mark.parametrize(("field", "hits"), [("creditor.name", True), ("remittance", False)])
def test_check_field_decides_whole_field_names(field: str, hits: bool) -> None:
    """The weak alias BNC matches a whole creditor name (corroborating only), not inside a remittance."""
    result = txscreen("check", "BNC", "--field", field, "--watchlist", str(OFAC_EXTRACT))
    assert result.returncode == 0, result.stderr
    assert ("ofac-sdn:306" in result.stdout) is hits
    if hits:
        assert "no hits, 1 weak-alias match corroborating only" in result.stdout
        assert "corroborating only" in result.stdout.splitlines()[-1]


def test_check_shows_a_fuzzy_hit_with_its_distance() -> None:
    """A typo of a listed name is a fuzzy hit; check shows the distance; --fuzzy off finds nothing."""
    result = txscreen("check", "Banco Nacional de Kuba", "--watchlist", str(OFAC_EXTRACT), "--fail-on-hit")
    assert result.returncode == 1, result.stderr
    assert "fuzzy (distance 1)" in result.stdout
    assert "fuzzy tier on" in result.stderr
    result = txscreen("check", "Banco Nacional de Kuba", "--watchlist", str(OFAC_EXTRACT), "--fuzzy", "off")
    assert result.returncode == 0, result.stderr
    assert "no hits" in result.stdout


def test_check_json_and_fail_on_hit() -> None:
    """``--json`` prints the hits as JSON with their context; ``--fail-on-hit`` then exits 1."""
    result = txscreen(
        "check", "TikTok", "--at", "2020-10-01T12:00:00+08:00", "--watchlist", "builtin", "--json"
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["field"] == "remittance"
    assert document["at"] == "2020-10-01T04:00:00.000Z"
    [hit] = document["hits"]
    assert hit["list"] == "us-eo-2020"
    assert (hit["matched_name"], hit["start"], hit["end"], hit["rule"]) == ("TikTok", 0, 6, "anywhere")
    failing = txscreen("check", "TikTok", "--at", "2020-10-01", "--watchlist", "builtin", "--fail-on-hit")
    assert failing.returncode == 1


def test_check_bad_at_exits_2_before_loading_lists() -> None:
    """An unreadable ``--at`` is one sentence and exit 2, said before any list is loaded."""
    result = txscreen("check", "x", "--at", "2020-10-01T10:00")
    assert "--at must be a date YYYY-MM-DD or an RFC 3339 timestamp with an offset" in one_error(result)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="txscreen")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_screen_settings_fall_back_to_the_environment() -> None:
    """Flags win over TXSCREEN_* variables, which win over the defaults."""
    environ = {
        "TXSCREEN_OUT_DIR": "/env/out",
        "TXSCREEN_BATCH_SIZE": "50",
        "TXSCREEN_MAX_EVENT_BYTES": "4096",
        "TXSCREEN_THREADS": "1",
    }
    assert settings_from_args(parse("screen", "in.jsonl"), environ) == FileRunSettings(
        "in.jsonl", Path("/env/out"), batch_size=50, max_event_bytes=4096, threads=1
    )
    flags = parse(
        "screen", "-", "--out", "o", "--batch-size", "7", "--max-event-bytes", "100", "--threads", "2"
    )
    assert settings_from_args(flags, environ) == FileRunSettings("-", Path("o"), 7, 100, 2)
    assert settings_from_args(parse("screen", "-", "--out", "o"), {}) == FileRunSettings("-", Path("o"))


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        (["screen", "-"], {}, "give --out DIR or set TXSCREEN_OUT_DIR"),
        (
            ["screen", "-", "--out", "o"],
            {"TXSCREEN_BATCH_SIZE": "lots"},
            "TXSCREEN_BATCH_SIZE must be a whole",
        ),
        (["screen", "-", "--out", "o", "--batch-size", "0"], {}, "batch size must be at least 1"),
        (["screen", "-", "--out", "o"], {"TXSCREEN_THREADS": "4"}, "thread count must be 1 or 2"),
    ],
)
def test_bad_screen_settings_are_config_errors(
    argv: list[str], environ: dict[str, str], message: str
) -> None:
    """A missing output folder, a non-numeric variable, a zero batch size and a thread count other than 1
    or 2 are ConfigErrors."""
    with pytest.raises(ConfigError, match=message):
        settings_from_args(parse(*argv), environ)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-10-01", datetime(2020, 10, 1, tzinfo=UTC)),
        ("2020-10-01T10:00:00Z", datetime(2020, 10, 1, 10, tzinfo=UTC)),
        ("2020-10-01t10:00:00z", datetime(2020, 10, 1, 10, tzinfo=UTC)),
        ("2020-10-01T10:00:00+02:00", datetime(2020, 10, 1, 10, tzinfo=timezone(timedelta(hours=2)))),
    ],
)
def test_parse_at_accepts_dates_and_rfc3339(text: str, expected: datetime) -> None:
    """``--at`` takes a date (midnight UTC) or an RFC 3339 timestamp with its offset."""
    assert parse_at(text) == expected


@pytest.mark.parametrize("text", ["2020-10-01T10:00:00", "yesterday", "2020-13-01", ""])
def test_parse_at_rejects_the_rest(text: str) -> None:
    """A timestamp without offset, words and impossible dates are ConfigErrors."""
    with pytest.raises(ConfigError, match="--at must be"):
        parse_at(text)


def test_hit_table_aligns_wide_characters() -> None:
    """Columns line up on a terminal when a cell holds CJK characters (two columns each)."""
    hits = [
        Hit(
            entity_id="us-eo-2020:bytedance",
            list_id="us-eo-2020",
            entity_name="ByteDance Ltd.",
            entity_type="entity",
            matched_name=name,
            field="remittance",
            start=start,
            end=start + len(name),
            matched_text=name,
            programs=["EO13942"],
            rule="anywhere",
            in_force_at="both",
        )
        for name, start in (("字节跳动", 0), ("TikTok", 5))
    ]
    header, cjk, latin = format_hits(hits).splitlines()
    column = header.index("RULE")
    assert latin.index("anywhere") == column
    assert cjk.index("anywhere") + 8 == column  # two cells of four CJK characters, each eight columns wide


def test_summary_lists_counts_and_paths() -> None:
    """The summary names the input, the rate, the version and each count with its file."""
    summary = RunSummary(
        input="-",
        outputs=Outputs.in_dir(Path("out")),
        read=1_234_568,
        cleared=1_200_000,
        blocked=30_000,
        dead_lettered=4_567,
        skipped=1,
        bytes_read=10,
        elapsed_seconds=2.0,
        watchlist_version="sha256:abc",
    )
    lines = format_summary(summary).splitlines()
    assert lines[0] == (
        "screened 1,234,567 events from stdin in 2.00 s (617,284 events/s) against watchlist sha256:abc"
    )
    assert lines[1].split() == ["cleared", "1,200,000", "out/cleared.jsonl"]
    assert lines[3].split() == ["dead-lettered", "4,567", "out/dlq.jsonl"]
    assert lines[4].split() == ["blank", "lines", "1", "skipped"]
