"""``txscreen check --screened-at``: rule f at the command line (the payment date and the screening time)."""

from __future__ import annotations

import json
import subprocess

from tests.cli_runner import run_txscreen


def check(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``txscreen check`` against the built-in list."""
    return run_txscreen("check", *argv, "--watchlist", "builtin", timeout=60, clean_env=True)


def test_screened_at_hits_an_entity_in_force_only_then() -> None:
    """TikTok paid the day before EO 13942 took effect but screened after it is a hit, said screened_at."""
    result = check("TikTok ads", "--at", "2020-09-19", "--screened-at", "2020-09-21", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["at"] == "2020-09-19T00:00:00.000Z"
    assert document["screened_at"] == "2020-09-21T00:00:00.000Z"
    assert [(h["entity_id"], h["in_force_at"]) for h in document["hits"]] == [
        ("us-eo-2020:bytedance", "screened_at")
    ]


def test_screened_at_defaults_to_now() -> None:
    """Without --screened-at the screening time is now: a 2020 payment to TikTok still hits on its date."""
    result = check("TikTok ads", "--at", "2020-10-01")
    assert result.returncode == 0, result.stderr
    header, _columns, row = result.stdout.splitlines()
    assert header == "'TikTok ads' as remittance at 2020-10-01T00:00:00.000Z: 1 hit"
    assert row.split()[-2:] == ["created_at", "EO13942"]


def test_screened_at_is_shown_when_given() -> None:
    """The summary line names the screening time when it was given, and no hit outside both times."""
    result = check("TikTok ads", "--at", "2020-08-10", "--screened-at", "2021-07-01")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "'TikTok ads' as remittance at 2020-08-10T00:00:00.000Z, "
        "screened at 2021-07-01T00:00:00.000Z: no hits"
    )


def test_bad_screened_at_exits_2() -> None:
    """An unreadable --screened-at is one sentence naming the flag, exit 2."""
    result = check("x", "--screened-at", "yesterday")
    assert result.returncode == 2
    assert "--screened-at must be a date YYYY-MM-DD" in result.stderr
