"""The two engines (matchers.backend): the pure-Python one gives the native fast path's finds and outputs."""

from __future__ import annotations

import dataclasses
import functools
import json
import subprocess
import sys
from collections.abc import Callable

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers import backend
from matchers.automaton import NameAutomaton
from matchers.normalize import fold_batch
from matchers.screening import BatchResult, screen_batch
from matchers.triage import ALL_FIELDS
from matchers.watchlist import Watchlist
from schemas.errors import ConfigError
from tests.unit.matchers.test_fast_path import BASE, NOW, SCREENED, TEXTS, _set, events


def _native() -> backend.Engine:
    native = backend.native_engine()
    if native is None:
        pytest.skip("the native fast path is not built")
    return native


def _outputs(result: BatchResult) -> tuple[object, ...]:
    return (result.verdicts, result.values, result.errors, result.hits, result.hits_total)


def _same_outputs(raws: list[bytes], native: NameAutomaton, pure: NameAutomaton) -> BatchResult:
    """Both engines' results for ``raws``, checked equal (records byte for byte); the native one."""
    fast = screen_batch(raws, native, NOW, lambda i: {"line": i})
    slow = screen_batch(raws, pure, NOW, lambda i: {"line": i})
    assert _outputs(slow) == _outputs(fast)
    return fast


# A key alphabet with shared prefixes and suffixes, multi-byte letters and the batch's own marks.
_PIECES = st.sampled_from(["a", "b", "ab", " ", "\x00", "é", "字", "ß", "е", "\U0001f600"])
_KEYS = st.lists(st.lists(_PIECES, min_size=1, max_size=4).map("".join), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(_KEYS, st.lists(_PIECES, max_size=40).map("".join))
def test_pure_key_search_finds_what_the_native_one_finds(keys: list[str], haystack: str) -> None:
    """Same (key index, start, end) triples, byte offsets, same order, repeated keys and overlaps included."""
    native = _native()
    encoded = [key.encode() for key in keys]
    data = haystack.encode()
    pure_search = backend.PURE.key_search(encoded)
    native_search = native.key_search(encoded)
    assert pure_search.find(data) == native_search.find(data)
    assert len(pure_search) == len(native_search) == len(keys)


@settings(max_examples=300, deadline=None)
@given(_KEYS, st.lists(_PIECES, max_size=40).map("".join), st.integers(1, 12))
def test_native_key_search_in_runs_finds_what_one_automaton_finds(
    keys: list[str], haystack: str, run_bytes: int
) -> None:
    """Keys split into several automata (as a large list's are) give one automaton's triples, in its order."""
    native = _native()
    encoded = [key.encode() for key in keys]
    data = haystack.encode()
    split = native.key_search(encoded, run_bytes=run_bytes)  # type: ignore[call-arg]
    whole = native.key_search(encoded)
    assert split.find(data) == whole.find(data)
    assert len(split) == len(whole) == len(keys)
    assert whole.runs == 1  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None)
@given(
    _KEYS,
    st.lists(_PIECES, max_size=40).map("".join),
    st.integers(1, 12),
    st.lists(_PIECES, max_size=30).map("".join),
)
def test_native_key_search_read_back_from_its_bytes_finds_the_same(
    keys: list[str], haystack: str, run_bytes: int, corpus: str
) -> None:
    """Written with to_bytes and read back (runs, repeated keys, any corpus), a search finds the same."""
    native = _native()
    assert native.search_from_bytes is not None
    encoded = [key.encode() for key in keys]
    data = haystack.encode()
    built = native.key_search(encoded, run_bytes=run_bytes, corpus=corpus.encode())  # type: ignore[call-arg]
    plain = native.key_search(encoded, corpus=None)  # type: ignore[call-arg]
    read = native.search_from_bytes(built.to_bytes())  # type: ignore[attr-defined]
    assert read.find(data) == built.find(data) == plain.find(data)
    assert len(read) == len(keys)


@settings(max_examples=200, deadline=None)
@given(_KEYS, st.lists(_PIECES, max_size=40).map("".join), st.integers(1, 12))
def test_the_nfa_of_a_large_list_finds_what_the_double_array_finds(
    keys: list[str], haystack: str, run_bytes: int
) -> None:
    """Keys above the double-array size get NFAs (in runs): the same triples, in the same order."""
    native = _native()
    encoded = [key.encode() for key in keys]
    data = haystack.encode()
    nfa = native.key_search(encoded, run_bytes=run_bytes, double_array_bytes=0)  # type: ignore[call-arg]
    double = native.key_search(encoded)
    assert nfa.find(data) == double.find(data)
    assert len(nfa) == len(double) == len(keys)
    with pytest.raises(ValueError, match="do not serialize"):
        nfa.to_bytes()  # type: ignore[attr-defined]


_LETTERS = st.sampled_from(["a", "b", " ", "\x00", "é", "字", "е", "\U0001f600", "\uffff"])
_ANCHORS = st.lists(st.lists(_LETTERS, min_size=4, max_size=8).map("".join), min_size=1, max_size=8)
_GRAMS = st.dictionaries(st.lists(_LETTERS, min_size=4, max_size=4).map("".join), st.integers(0, 9000))


@settings(max_examples=300, deadline=None)
@given(_KEYS, _ANCHORS, st.data(), _GRAMS, st.booleans())
def test_anchors_found_by_gram_are_what_the_automaton_finds(
    keys: list[str], anchors: list[str], draw_from: st.DataObject, grams: dict[str, int], short: bool
) -> None:
    """Keys from ``anchors_from`` on searched by gram (any gram table) give one automaton's triples, in its
    order, also read back from bytes; with a key too short for a gram, all go to the automaton."""
    haystack = draw_from.draw(
        st.lists(_LETTERS | _PIECES | st.sampled_from(anchors), max_size=30).map("".join)
    )
    native = _native()
    assert native.search_from_bytes is not None
    encoded = [key.encode() for key in [*keys, *anchors, *(["ab"] if short else [])]]
    data = haystack.encode()
    by_gram = native.key_search(encoded, anchors_from=len(keys), grams=grams)  # type: ignore[call-arg]
    whole = native.key_search(encoded)
    read = native.search_from_bytes(by_gram.to_bytes())  # type: ignore[attr-defined]
    assert by_gram.find(data) == whole.find(data) == read.find(data)
    assert len(by_gram) == len(read) == len(encoded)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-1],
        lambda data: data[:30],
        lambda data: b"X" + data[1:],
        lambda data: data + b"\0",
        lambda data: b"",
    ],
    ids=["one-byte-short", "header-only", "foreign-magic", "trailing-byte", "empty"],
)
def test_bytes_that_are_not_a_whole_key_search_are_refused(damage: Callable[[bytes], bytes]) -> None:
    """Short, foreign or trailing bytes raise ValueError: the build cache then builds the search again."""
    native = _native()
    assert native.search_from_bytes is not None
    data = native.key_search([b" hamas ", b" tiktok "]).to_bytes()  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="not a txscreen key search"):
        native.search_from_bytes(damage(data))


def test_the_layout_corpus_is_the_shipped_sample_of_clean_traffic() -> None:
    """The corpus the native layout is profiled on has a line per sample event, NULs restored, no comment."""
    corpus = backend.scan_corpus()
    lines = corpus.split(b"\n")
    assert len(lines) == 1000
    assert all(line.startswith(b"\0 ") and line.endswith(b" \0") for line in lines)
    assert b"|" not in corpus
    assert b"#" not in corpus


def test_key_runs_screen_the_bundled_lists_as_one_automaton(
    default_lists: tuple[Watchlist, ...], native_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """The bundled lists' keys split into many automata give the same finds and records as one automaton."""
    native = _native()
    runs = dataclasses.replace(native, key_search=functools.partial(native.key_search, run_bytes=1 << 18))
    split = NameAutomaton(default_lists, using=runs)
    assert split._search.runs > 4  # type: ignore[attr-defined]
    names = [name.text for wl in default_lists for e in wl.entities for name in e.names][::7]
    raws = [make_event(creditor=n, event_id=f"c{i}") for i, n in enumerate(names)]
    raws += [make_event(remittance=f"for {n} thanks", event_id=f"r{i}") for i, n in enumerate(names)]
    fast = screen_batch(raws, native_automaton, NOW, lambda i: {"line": i})
    assert _outputs(screen_batch(raws, split, NOW, lambda i: {"line": i})) == _outputs(fast)
    assert fast.blocked > len(names)
    batch = fold_batch(names).encode()
    assert split.find_keys(batch) == native_automaton.find_keys(batch)


def test_pure_key_search_reports_byte_offsets() -> None:
    """Offsets count UTF-8 bytes, not characters: a find after a multi-byte letter starts past its bytes."""
    search = backend.PURE.key_search([b" hamas ", "字节".encode()])
    batch = "\x00 é hamas \x00 字节 \x00".encode()
    assert [(i, batch[s:e].decode()) for i, s, e in search.find(batch)] == [(0, " hamas "), (1, "字节")]
    assert search.find(batch)[0][1] == 4  # NUL, space, é (2 bytes)


def test_pure_key_search_without_keys_finds_nothing() -> None:
    """An automaton over no keys (an empty list) searches and finds nothing, as the native one."""
    assert backend.PURE.key_search([]).find(b"\x00 anything \x00") == []


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=60).map(lambda t: t.encode("ascii", "replace")))
def test_pure_ascii_fold_is_the_native_one(data: bytes) -> None:
    """The batch ASCII fold gives the same bytes on both engines, on any input (controls, NUL, high bytes)."""
    assert backend.pure_fold_ascii(data) == _native().fold_ascii(data)


def test_pure_triage_sends_every_event_to_the_full_path(make_event: Callable[..., bytes]) -> None:
    """The pure triage clears nothing on its own: the full path decides every verdict."""
    codes, texts, owners = backend.PURE.triage().classify([make_event(), None, b"{}"], 1 << 20)
    assert (list(codes), texts, owners) == ([1, 1, 1], [], [])
    assert list(backend.PURE.triage().key_fields([make_event(), None], 1 << 20)) == [ALL_FIELDS] * 2


@settings(max_examples=300, deadline=None)
@given(st.lists(events(), min_size=1, max_size=12))
def test_engines_agree_on_valid_edge_case_and_broken_events(
    native_automaton: NameAutomaton, pure_automaton: NameAutomaton, raws: list[bytes]
) -> None:
    """On the fast-path test's events, both engines give the same verdicts, hits and records."""
    _same_outputs(raws, native_automaton, pure_automaton)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(sorted({*TEXTS, "Hamasaki Trading", "DOVER"})), min_size=5, max_size=5))
def test_engines_agree_on_listed_and_look_alike_names(
    native_automaton: NameAutomaton, pure_automaton: NameAutomaton, texts: list[str]
) -> None:
    """Listed, look-alike, multi-script and clean names in any screened field block alike on both engines."""
    event = json.loads(json.dumps(BASE))
    for path, text in zip(SCREENED, texts, strict=True):
        _set(event, path, text or "x")
    _same_outputs([orjson.dumps(event), orjson.dumps(BASE)], native_automaton, pure_automaton)


def test_engines_agree_on_real_names(
    default_lists: tuple[Watchlist, ...],
    native_automaton: NameAutomaton,
    pure_automaton: NameAutomaton,
    make_event: Callable[..., bytes],
) -> None:
    """Every 10th listed name, as creditor and inside a remittance, gives the same records on both engines."""
    names = [name.text for wl in default_lists for e in wl.entities for name in e.names][::10]
    raws = [make_event(creditor=n, event_id=f"c{i}") for i, n in enumerate(names)]
    raws += [make_event(remittance=f"for {n} thanks", event_id=f"r{i}") for i, n in enumerate(names)]
    assert _same_outputs(raws, native_automaton, pure_automaton).blocked > len(names)
    batch = fold_batch(names).encode()
    assert pure_automaton.find_keys(batch) == native_automaton.find_keys(batch)


def test_choice_follows_the_environment_variable() -> None:
    """1 forces pure Python; unset, empty or 0 take the native fast path where built; others are refused."""
    assert not backend.choose("1").native
    for value in (None, "", "0"):
        assert backend.choose(value).native == backend.native_available()
    with pytest.raises(ConfigError, match="TXSCREEN_PURE_PYTHON must be 1"):
        backend.choose("true")


def test_descriptions_say_which_path_and_how_to_get_the_fast_one() -> None:
    """The pure engine's line gives the measured slowdown and says to install cargo and reinstall."""
    assert backend.PURE.description == (
        f"pure Python: about {backend.PURE_SLOWDOWN}× slower; "
        "install Rust's cargo (https://rustup.rs) and reinstall for the fast path"
    )
    assert backend.choose("1").description.startswith(
        f"pure Python (TXSCREEN_PURE_PYTHON=1): about {backend.PURE_SLOWDOWN}×"
    )
    if backend.native_available():
        assert backend.choose("0").description == "native fast path (matchers._native)"


def test_forcing_pure_python_never_loads_the_native_module() -> None:
    """With TXSCREEN_PURE_PYTHON=1 a process screens without importing matchers._native, as without cargo."""
    code = (
        "import sys; from matchers.automaton import NameAutomaton; from matchers.watchlist import Watchlist;"
        "a = NameAutomaton([]); print(a.engine.name, 'matchers._native' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"TXSCREEN_PURE_PYTHON": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.split() == ["pure", "False"]
