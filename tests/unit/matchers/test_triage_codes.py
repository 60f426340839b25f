"""The triage's codes: the Rust constants and the Python enum agree."""

from __future__ import annotations

import pytest

from matchers.triage import TriageCode

_native = pytest.importorskip("matchers._native", reason="the native fast path is not built")


def test_the_rust_codes_are_the_enums() -> None:
    """Every code the native triage can return is a TriageCode member of the same name and value."""
    assert {code.name: code.value for code in TriageCode} == _native.TRIAGE_CODES
