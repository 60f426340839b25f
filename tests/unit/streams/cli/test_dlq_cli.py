"""The flags of ``txscreen dlq replay``: defaults, choices and refusals, before any Kafka client exists."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.errors import ConfigError
from streams.cli import build_parser
from streams.cli.dlq import FIX_COMMAND_BATCH, plan
from streams.dlq.replay import ReplayPlan
from streams.dlq.selection import FixCommand, FixFile, NoFix
from tests.cli_runner import run_txscreen


def replay_plan(*flags: str, env: dict[str, str] | None = None) -> ReplayPlan:
    args = build_parser().parse_args(["dlq", "replay", *flags])
    return plan(args, env or {})


def test_defaults_read_the_dead_letter_topic_in_the_replay_group_and_write_the_input_topic() -> None:
    """Own group and static instance, exactly-once, output = input topic, audit = <dlq>.replayed, no fix."""
    made = replay_plan("--dlq-topic", "bad")
    assert made.settings.group_id == "txscreen-dlq-replay"
    assert made.settings.instance_id == "dlq-replay"
    assert made.settings.transactional
    assert made.settings.until_idle == 3.0
    assert (made.dlq, made.output, made.audit) == ("bad", "payments", "bad.replayed")
    assert isinstance(made.fixer, NoFix)
    assert made.selection.describe() == "every dead letter"


def test_selection_flags_become_one_selection() -> None:
    """--partition (repeatable), --offset, --since/--until, --error-contains and --max are all applied."""
    made = replay_plan(
        "--partition", "2", "--partition", "0", "--offset", "10..20", "--since", "2026-11-30T00:00:00Z",
        "--until", "2026-11-30T12:00:00+01:00", "--error-contains", "currency", "--max", "7",
    )  # fmt: skip
    chosen = made.selection
    assert chosen.partitions == frozenset({0, 2})
    assert (chosen.low, chosen.high, chosen.max, chosen.error_contains) == (10, 20, 7, "currency")
    assert chosen.since == datetime(2026, 11, 30, tzinfo=UTC)
    assert chosen.until == datetime(2026, 11, 30, 11, tzinfo=UTC)


def test_a_fix_command_gets_small_batches_unless_told(tmp_path: Path) -> None:
    """--fix-command runs a process per dead letter: 100 per batch by default, --max-batch still wins."""
    made = replay_plan("--fix-command", "cat")
    assert isinstance(made.fixer, FixCommand)
    assert made.settings.max_batch == FIX_COMMAND_BATCH
    assert replay_plan("--fix-command", "cat", "--max-batch", "7").settings.max_batch == 7
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text('{"id": "p-1", "event": "{}"}\n')
    assert isinstance(replay_plan("--fixed", str(fixed)).fixer, FixFile)
    assert replay_plan("--fixed", str(fixed)).settings.max_batch == 5000


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--since", "2026-11-30T12:00:00Z", "--until", "2026-11-30T11:00:00Z"], "--since is after --until"),
        (["--since", "yesterday"], "RFC 3339"),
        (["--offset", "9..3"], "starts after it ends"),
        (["--error-contains", " "], "must not be empty"),
        (["--fixed", "/nonexistent/fixed.jsonl"], "cannot read the fixed-events file"),
        (["--replayed-topic", "payments.cleared"], "audit topic must differ"),
    ],
)
def test_bad_choices_are_config_errors(flags: list[str], message: str) -> None:
    """Each bad flag value is refused with one sentence before anything connects."""
    with pytest.raises(ConfigError, match=message):
        replay_plan(*flags)


def test_cli_refuses_a_bad_fix_file_with_one_sentence_and_status_2(tmp_path: Path) -> None:
    """A malformed fixed-events line stops the command: exit 2, FILE:LINE named, no traceback."""
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text('{"id": "p-1", "event": "{}"}\n{"event": "{}"}\n')
    done = run_txscreen("dlq", "replay", "--fixed", str(fixed), "--bootstrap-servers", "127.0.0.1:1")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f'txscreen: error: {fixed}:2 must be an object with "event" and either "source" or "id".'
    ]


def test_fix_file_and_fix_command_are_exclusive() -> None:
    """--fixed and --fix-command together are refused by the parser (exit 2)."""
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["dlq", "replay", "--fixed", "f", "--fix-command", "cat"])
    assert stopped.value.code == 2
