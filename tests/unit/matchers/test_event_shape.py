"""Repeated member names and deep nesting dead-letter an event on the fast path and the full path alike."""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.automaton import NameAutomaton
from matchers.screening import BatchResult, screen_batch, screen_batch_full
from matchers.triage import TriageCode
from schemas.events import MAX_EVENT_BYTES
from schemas.json_shape import MAX_DEPTH
from schemas.records import Verdict, decode_dead_letter
from tests.unit.matchers.test_fast_path import BASE, NOW

# The head of a valid event, as in the examples: each example ends it.
HEAD = '{"id": "pay-1", "created_at": "2020-10-01T12:00:00Z", "amount": "1250.00", "currency": "EUR", '
DEBTOR = '"debtor": {"name": "Ann Lee"}'


def both(raw: bytes, automaton: NameAutomaton) -> tuple[BatchResult, BatchResult]:
    """The fast path's and the full path's results for one raw event, checked to be the same."""
    fast = screen_batch([raw], automaton, NOW, lambda i: {"line": i})
    full = screen_batch_full([raw], automaton, NOW, lambda i: {"line": i})
    assert (fast.verdicts, fast.values, fast.errors, fast.hits) == (
        full.verdicts,
        full.values,
        full.errors,
        full.hits,
    )
    return fast, full


def dead_lettered_for(raw: bytes, automaton: NameAutomaton) -> str:
    """The reason both paths give for dead-lettering ``raw`` (checked: never cleared by the triage)."""
    codes, _, _ = automaton.triage.classify([raw], MAX_EVENT_BYTES)
    assert list(codes) == [TriageCode.FULL_PATH]
    fast, _ = both(raw, automaton)
    assert fast.verdicts == [Verdict.DEAD_LETTER]
    assert decode_dead_letter(fast.values[0]).error == fast.errors[0]
    return fast.errors[0]


# --- the three examples ----------------------------------------------------------------


def test_repeated_creditor_hides_a_listed_name(default_automaton: NameAutomaton) -> None:
    """Two creditor objects, the first one listed, dead-letter the event naming the key at the top level."""
    raw = HEAD + DEBTOR + ', "creditor": {"name": "HAMAS"}, "creditor": {"name": "Bob Smith"}}'
    assert dead_lettered_for(raw.encode(), default_automaton) == 'repeated key "creditor" at $'


def test_repeated_name_inside_the_creditor(default_automaton: NameAutomaton) -> None:
    """Two names in one creditor object dead-letter the event naming the key and the creditor's path."""
    raw = HEAD + DEBTOR + ', "creditor": {"name": "Banco Nacional de Cuba", "name": "Bob"}}'
    assert dead_lettered_for(raw.encode(), default_automaton) == 'repeated key "name" at $.creditor'


def test_repeated_remittance(default_automaton: NameAutomaton) -> None:
    """Two remittance texts dead-letter the event, whichever of them holds the listed name."""
    texts = '"remittance": "payment to HAMAS", "remittance": "rent"'
    raw = HEAD + DEBTOR + ', "creditor": {"name": "Bob"}, ' + texts + "}"
    assert dead_lettered_for(raw.encode(), default_automaton) == 'repeated key "remittance" at $'


def test_keys_are_compared_after_their_escapes(default_automaton: NameAutomaton) -> None:
    """A name written with an escape (``n\\u0061me``) repeats the plain one."""
    raw = HEAD + DEBTOR + ', "creditor": {"name": "HAMAS", "n\\u0061me": "Bob"}}'
    assert dead_lettered_for(raw.encode(), default_automaton) == 'repeated key "name" at $.creditor'


def test_extra_field_100000_levels_deep(default_automaton: NameAutomaton) -> None:
    """An extra field nesting 100,000 arrays is dead-lettered with the event's depth, never cleared."""
    raw = HEAD + DEBTOR + ', "creditor": {"name": "Bob"}, "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    reason = dead_lettered_for(raw.encode(), default_automaton)
    assert reason == f"event nests 100001 levels deep, more than the {MAX_DEPTH} allowed"


# --- duplicates anywhere -----------------------------------------------------------------------

_KEYS = st.from_regex(r"[a-z]{1,3}", fullmatch=True)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(["", "x", "[{", "HAMAS"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=8,
)
# Objects of the event that may take extra members, by path.
_PLACES = [(), ("debtor",), ("creditor",), ("debtor", "agent"), ("creditor", "address")]
_TEXTS = ["Bob Smith", "HAMAS", "Banco Nacional de Cuba", "rent"]


def _objects(node: Any, path: str) -> list[tuple[str, dict[str, Any]]]:
    """Every object in ``node`` with its path, in document order."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((path, node))
        for key, value in node.items():
            found += _objects(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _objects(value, f"{path}[{index}]")
    return found


def _dump(node: Any, target: dict[str, Any], key: str, value: Any, at: int) -> str:
    """``node`` as JSON text, ``key: value`` written once more as member ``at`` of the object ``target``."""
    if isinstance(node, dict):
        members = [f"{json.dumps(k)}: {_dump(v, target, key, value, at)}" for k, v in node.items()]
        if node is target:
            members.insert(at, f"{json.dumps(key)}: {_dump(value, target, key, value, at)}")
        return "{" + ", ".join(members) + "}"
    if isinstance(node, list):
        return "[" + ", ".join(_dump(v, target, key, value, at) for v in node) + "]"
    return json.dumps(node)


@st.composite
def repeated(draw: st.DrawFn) -> tuple[bytes, str]:
    """A valid event with extra fields anywhere, one object repeating a member: (raw, expected reason)."""
    event = copy.deepcopy(BASE)
    event["creditor"]["address"] = {"city": "Oslo"}
    for place in draw(st.lists(st.sampled_from(_PLACES), max_size=4)):
        node = event
        for step in place:
            node = node[step]
        node[f"x{draw(_KEYS)}"] = draw(_JSON)
    path, target = draw(st.sampled_from(_objects(event, "$")))
    if target and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(target)))
        # A screened text may differ from the first; any other value is the same, so that it stays valid.
        value = draw(st.sampled_from(_TEXTS)) if key in ("name", "remittance") else copy.deepcopy(target[key])
    else:  # a new member, written twice
        key, value = "zz", draw(_JSON)
        target[key] = value
    at = draw(st.integers(0, len(target)))
    return _dump(event, target, key, value, at).encode(), f"repeated key {json.dumps(key)} at {path}"


@settings(max_examples=300, deadline=None)
@given(repeated())
def test_a_repeated_key_anywhere_is_dead_lettered(
    default_automaton: NameAutomaton, case: tuple[bytes, str]
) -> None:
    """A repeated member name at any depth, in known objects, addresses, extra objects and arrays, is
    dead-lettered by both paths with the same reason naming the key and the path of its object."""
    raw, reason = case
    assert dead_lettered_for(raw, default_automaton) == reason


# --- depth around the limit --------------------------------------------------------------------

# Where the nested value goes, and the level of the object holding it.
_HOLDERS = [((), 1), (("creditor",), 2), (("debtor", "agent"), 3), (("creditor", "address"), 3)]


@st.composite
def nested(draw: st.DrawFn) -> tuple[bytes, int]:
    """A clean event with one member nesting objects and arrays around the limit: (raw, the event's depth)."""
    holder, level = draw(st.sampled_from(_HOLDERS))
    total = draw(st.sampled_from([MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2, 100, 1000]))
    total = draw(st.sampled_from([total, draw(st.integers(level + 1, 2 * MAX_DEPTH))]))
    rng = draw(st.randoms(use_true_random=False))
    kinds = [rng.random() < 0.5 for _ in range(total - level)]
    opened = "".join("[" if is_array else '{"k": ' for is_array in kinds)
    closed = "".join("]" if is_array else "}" for is_array in reversed(kinds))
    event = copy.deepcopy(BASE)
    event["creditor"]["address"] = {"city": "Oslo"}
    node = event
    for step in holder:
        node = node[step]
    node["deep"] = "HOLE"
    raw = orjson.dumps(event).replace(b'"HOLE"', (opened + "0" + closed).encode())
    return raw, total


@settings(max_examples=200, deadline=None)
@given(nested())
def test_depth_around_the_limit(default_automaton: NameAutomaton, case: tuple[bytes, int]) -> None:
    """Events up to 64 levels deep are cleared, deeper ones dead-lettered with their depth, on both paths."""
    raw, depth = case
    if depth <= MAX_DEPTH:
        codes, _, _ = default_automaton.triage.classify([raw], MAX_EVENT_BYTES)
        # the native triage clears it itself; the pure one leaves every verdict to the full path
        assert list(codes) == [TriageCode.CLEAN if default_automaton.engine.native else TriageCode.FULL_PATH]
        fast, _ = both(raw, default_automaton)
        assert fast.verdicts == [Verdict.CLEARED]
    else:
        reason = f"event nests {depth} levels deep, more than the {MAX_DEPTH} allowed"
        assert dead_lettered_for(raw, default_automaton) == reason


@pytest.mark.parametrize("text", ['"[[[["', '"\\"[{"', '"\\\\"'])
def test_brackets_inside_strings_do_not_count(default_automaton: NameAutomaton, text: str) -> None:
    """Brackets written inside strings (escaped quotes included) add no depth: 64 real levels still clear."""
    levels = MAX_DEPTH - 1
    inner = ", ".join([text] * 40)
    raw = HEAD + DEBTOR + ', "creditor": {"name": "Bob"}, "x": ' + "[" * levels + inner + "]" * levels + "}"
    fast, _ = both(raw.encode(), default_automaton)
    assert fast.verdicts == [Verdict.CLEARED]
