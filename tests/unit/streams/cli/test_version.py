"""``txscreen --version``: one version source and the matching path in use."""

from __future__ import annotations

import importlib.metadata

import pytest

from matchers import backend
from streams.cli import main
from streams.cli.version import NOT_INSTALLED, matching_path, version


def test_version_prints_the_package_version_and_the_matching_path(capsys: pytest.CaptureFixture[str]) -> None:
    """The line names the installed version and the matching path of this process; exit status 0."""
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    installed = importlib.metadata.version("txscreen")
    assert out == f"txscreen {installed}, matching: {backend.engine().description}\n"


def test_version_says_why_a_wrong_pure_python_value_is_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    """A TXSCREEN_PURE_PYTHON value other than 0 or 1 is named in the matching path, not a traceback."""
    monkeypatch.setattr(backend, "engine", lambda: backend.choose("yes"))
    assert matching_path() == "TXSCREEN_PURE_PYTHON must be 1 (pure Python) or 0, not 'yes'"


def test_version_falls_back_when_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without package metadata (a checkout pip never installed) the version says so instead of failing."""

    def missing(_name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(_name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert version() == NOT_INSTALLED
