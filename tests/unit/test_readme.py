"""The README stays in step with the code it documents."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import streams
from streams.cli import build_parser
from streams.cli.dlq import REPLAY_TABLE_SETTINGS
from streams.cli.kafka import TABLE_SETTINGS
from streams.cli.lists import LISTS_TABLE_SETTINGS
from streams.cli.lists_fetch import FETCH_TABLE_SETTINGS
from streams.cli.rescreen import RESCREEN_TABLE_SETTINGS
from streams.cli.review import REVIEW_TABLE_SETTINGS
from streams.settings import Setting, settings_table

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_configuration_table_is_the_generated_one() -> None:
    """The README's configuration table is exactly what the declared settings of run and copy say."""
    assert settings_table(TABLE_SETTINGS).strip() in README


def test_replay_settings_table_is_the_generated_one() -> None:
    """The README's table of `txscreen dlq replay` settings is exactly what its declared settings say."""
    assert settings_table(REPLAY_TABLE_SETTINGS).strip() in README


def test_fetch_settings_table_is_the_generated_one() -> None:
    """The README's table of `txscreen lists fetch` settings is exactly what its declared settings say."""
    assert settings_table(FETCH_TABLE_SETTINGS).strip() in README


def test_review_settings_table_is_the_generated_one() -> None:
    """The README's review settings table is generated from the review service's declarations."""
    assert settings_table(REVIEW_TABLE_SETTINGS).strip() in README


def test_lists_and_rescreen_settings_table_is_the_generated_one() -> None:
    """The README's table of `txscreen lists` and `txscreen rescreen` settings is the declared one."""
    assert settings_table(LISTS_TABLE_SETTINGS + RESCREEN_TABLE_SETTINGS).strip() in README


def test_every_declared_setting_is_in_the_configuration_table() -> None:
    """Each Setting declared in a streams module (TXSCREEN_ENGINE, …) is in a README table."""
    declared: set[str] = set()
    skipped = {"streams.faust.main", "streams.demo", "streams.cli.__main__"}  # these start things on import
    for module in pkgutil.walk_packages(streams.__path__, prefix="streams."):
        if module.name in skipped:
            continue
        loaded = importlib.import_module(module.name)
        declared |= {value.env for value in vars(loaded).values() if isinstance(value, Setting) and value.env}
    table = (
        settings_table(TABLE_SETTINGS)
        + settings_table(REPLAY_TABLE_SETTINGS)
        + settings_table(FETCH_TABLE_SETTINGS)
        + settings_table(REVIEW_TABLE_SETTINGS)
        + settings_table(LISTS_TABLE_SETTINGS + RESCREEN_TABLE_SETTINGS)
    )
    assert {"TXSCREEN_ENGINE", "TXSCREEN_WEB_PORT"} <= declared
    assert [env for env in sorted(declared) if f"`{env}`" not in table] == []


def test_quickstart_is_the_two_make_commands() -> None:
    """The quickstart gives `make demo` and `make test`."""
    assert "make demo" in README
    assert "make test" in README


def test_every_command_is_documented() -> None:
    """Each txscreen sub-command appears in the README."""
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    missing = [name for name in commands if f"txscreen {name}" not in README]
    assert missing == []
