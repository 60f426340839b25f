"""Shared by every tier: the build cache of the commands the tests run stays out of the home folder."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

BUILD_CACHE_ENV = "TXSCREEN_BUILD_CACHE"


@pytest.fixture(autouse=True, scope="session")
def _session_build_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every command started in the session keeps its build cache in one temporary folder (unless
    TXSCREEN_BUILD_CACHE is set), not in ~/.cache/txscreen: test lists live in temporary paths."""
    if os.environ.get(BUILD_CACHE_ENV):
        yield
        return
    os.environ[BUILD_CACHE_ENV] = str(tmp_path_factory.mktemp("build-cache"))
    try:
        yield
    finally:
        os.environ.pop(BUILD_CACHE_ENV, None)
