"""The JSON shape rules: how a repeated key's path is written, how depth is counted, what they accept."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.json_shape import MAX_DEPTH, nesting_depth, repeated_key, too_deep


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"a": 1, "a": 1}', 'repeated key "a" at $'),
        (b'{"a": [0, {"b": {"c": 1, "c": 2}}]}', 'repeated key "c" at $.a[1].b'),
        (b'{"first name": {"x": 1, "x": 1}}', 'repeated key "x" at $["first name"]'),
        (b'{"k": {"\\u200b": 1, "\\u200b": 2}}', 'repeated key "\\u200b" at $.k'),
        (b'{"a": {"x": 1, "x": 2}, "a": 3}', 'repeated key "x" at $.a'),  # the first repeat in the text
        (b'{"a": 1, "a": "\\u003a"}', 'repeated key "a" at $'),  # an escaped colon hides no repeat
        (b'{"a": "x:y", "b": {"c:": ":", "c:": 1}}', 'repeated key "c:" at $.b'),
        (b'{"a": 1e400, "b": {"c": 2, "c": 1}}', 'repeated key "c" at $.b'),
        (b'{"' + b"k" * 50 + b'": 1, "' + b"k" * 50 + b'": 2}', 'repeated key "' + "k" * 35 + '..." at $'),
    ],
)
def test_repeated_key_names_the_key_and_its_object(raw: bytes, reason: str) -> None:
    """The reason names the first repeated key in the text, escaped and cut short, and its object's path."""
    assert repeated_key(raw) == reason


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1, "b": {"a": 1}}',
        b'{"a": [{"x": 1}, {"x": 1}]}',
        b'{"a": "a", "A": 1}',
        b'{"n": 1e400}',
        b"{}",
    ],
)
def test_same_names_in_different_objects_are_fine(raw: bytes) -> None:
    """Equal names in sibling or nested objects, names differing in case and huge numbers are accepted."""
    assert repeated_key(raw) is None


@pytest.mark.parametrize("raw", [b'{"x": "caf\xe9"}', b'{"x": "caf\xed\xa0\x80"}', b'{"abcdefgh\xe9": 1}'])
def test_text_that_is_not_utf8_is_refused(raw: bytes) -> None:
    """Bytes that are not UTF-8 (an encoded surrogate too), even in a field nobody reads, are refused."""
    assert repeated_key(raw) == "input is not valid UTF-8 (byte 10); a payment event is UTF-8 JSON"


@pytest.mark.parametrize(
    ("raw", "depth"),
    [
        (b"{}", 1),
        (b'{"a": [{"b": 1}]}', 3),
        (b'{"a": "[[[{{{", "b": "\\"[[", "c": "\\\\", "d": []}', 2),
        (b"1", 0),
    ],
)
def test_depth_counts_objects_and_arrays_outside_strings(raw: bytes, depth: int) -> None:
    """The event object is level 1, each object or array inside adds one; brackets in strings count none."""
    assert nesting_depth(raw) == depth


def test_too_deep_is_decided_on_the_bytes() -> None:
    """Deeper than 64 levels, valid JSON or not, gets a reason with its depth, found without recursion."""
    at_limit = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert too_deep(at_limit) is None
    assert too_deep(b"[" + at_limit + b"]") == "event nests 65 levels deep, more than the 64 allowed"
    assert too_deep(b"{" * 500_000) == "event nests 500000 levels deep, more than the 64 allowed"
    assert too_deep(b'{"a": "' + b"[" * 10_000 + b'"}') is None


class Obj(list[tuple[str, Any]]):
    """A JSON object as its members in order, repeats allowed."""


_NAMES = st.text(alphabet=["a", ":", '"', "\\", "é", "\u2028"], max_size=2)
_TREES = st.recursive(
    st.none() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _NAMES,
    lambda inner: st.lists(inner, max_size=3) | st.lists(st.tuples(_NAMES, inner), max_size=4).map(Obj),
    max_leaves=12,
)


def _text(node: Any, ascii_only: bool) -> str:
    if isinstance(node, Obj):
        members = (f"{json.dumps(k, ensure_ascii=ascii_only)}:{_text(v, ascii_only)}" for k, v in node)
        return "{" + ",".join(members) + "}"
    if isinstance(node, list):
        return "[" + ",".join(_text(v, ascii_only) for v in node) + "]"
    return json.dumps(node, ensure_ascii=ascii_only)


def _repeats(node: Any) -> bool:
    if isinstance(node, Obj):
        names = [k for k, _ in node]
        return len(set(names)) < len(names) or any(_repeats(v) for _, v in node)
    return isinstance(node, list) and any(_repeats(v) for v in node)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_NAMES, _TREES), max_size=4).map(Obj), st.booleans())
def test_repeats_are_found_exactly(tree: Obj, ascii_only: bool) -> None:
    """Names holding colons, quotes and escapes, plain or escaped: a reason exactly when a name repeats."""
    assert (repeated_key(_text(tree, ascii_only).encode()) is not None) is _repeats(tree)
