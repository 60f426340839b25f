"""``txscreen --version``: one version source and the matching path in use."""

from __future__ import annotations

import importlib.metadata

import pytest

from streams.cli import main
from streams.cli.version import NOT_INSTALLED, version


def test_version_prints_the_package_version_and_the_native_path(capsys: pytest.CaptureFixture[str]) -> None:
    """The line names the installed version and says the native fast path screens; exit status 0."""
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    installed = importlib.metadata.version("txscreen")
    assert out == f"txscreen {installed}, matching: native fast path (matchers._native)\n"


def test_version_falls_back_when_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without package metadata (a checkout pip never installed) the version says so instead of failing."""

    def missing(_name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(_name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert version() == NOT_INSTALLED
