"""The README stays in step with the code it documents."""

from __future__ import annotations

from pathlib import Path

from streams.cli import build_parser
from streams.settings import settings_table

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_configuration_table_is_the_generated_one() -> None:
    """The README's configuration table is exactly what streams/settings.py declares."""
    assert settings_table().strip() in README


def test_quickstart_is_the_two_make_commands() -> None:
    """The quickstart gives `make demo` and `make test`."""
    assert "make demo" in README
    assert "make test" in README


def test_every_command_is_documented() -> None:
    """Each txscreen sub-command appears in the README."""
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    missing = [name for name in commands if f"txscreen {name}" not in README]
    assert missing == []
