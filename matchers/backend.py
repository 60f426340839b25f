"""Which engine runs the automaton and the triage: the native fast path, or pure Python.

The native fast path is ``matchers._native`` (Rust, built by ``pip install`` when cargo is on
``PATH``; optional). Without it, or with ``TXSCREEN_PURE_PYTHON=1``, the pure engine stands in:

* :class:`PureKeySearch`: the automaton on pyahocorasick. The batch string (UTF-8 bytes) and
  the keys are searched as Latin-1 text, one character per byte, so a find's offsets are byte
  offsets and the finds are the byte automaton's: the same ``(key index, start, end)`` triples.
* :class:`PureTriage`: sends every event to the full path (:func:`matchers.screening.screen_batch_full`
  decides every verdict already), so verdicts, hits and records are the full path's, byte for byte.
* :func:`pure_fold_ascii`: the batch ASCII fold, one ``bytes.translate`` and one regex pass.

The choice is made once, lazily, on the first :func:`engine` call (never at import time).
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final, Protocol, cast

import ahocorasick

from matchers.triage import ALL_FIELDS, TriageCode
from schemas.errors import ConfigError

#: Set to ``1`` to force the pure-Python engine even where the native one is built (tests, debugging).
PURE_PYTHON_ENV: Final = "TXSCREEN_PURE_PYTHON"

#: How much slower the pure engine screens than the native one: ``screen_batch`` on the core
#: benchmark's event mix, both engines side by side in one process (``python -m benchmarks.engines``;
#: 2026-12-01 ``make bench`` runs on a 2-core machine: median 6.9× over 5 rounds, 6.8× to 7.0×; then 7.1×,
#: 6.3× to 7.3×).
PURE_SLOWDOWN: Final = 7

#: How to get the fast path when it was not built.
GET_THE_FAST_PATH: Final = "install Rust's cargo (https://rustup.rs) and reinstall for the fast path"


class KeySearcher(Protocol):
    """The Aho-Corasick automaton over every key (UTF-8 bytes): standard semantics, overlapping finds."""

    def __len__(self) -> int: ...
    def find(self, haystack: bytes) -> list[tuple[int, int, int]]:
        """``(key index, start, end)`` of every key occurrence, in bytes."""
        ...


class Triager(Protocol):
    """Classifies raw events, one :class:`matchers.triage.TriageCode` per event."""

    def classify(self, raws: list[bytes | None], max_event_bytes: int) -> tuple[bytes, list[str], list[int]]:
        """``(codes, texts, owners)``: one code per input; ``owners[k]`` is the input of ``texts[k]``."""
        ...

    def key_fields(self, raws: list[bytes | None], max_event_bytes: int) -> bytes:
        """One byte per input: bit k set when screened field k may hold a key (the full path screens only
        those fields; :data:`matchers.triage.ALL_FIELDS` for an input it cannot read)."""
        ...

    def fold_positions(self, text: str) -> tuple[str, list[int]] | None:
        """``text`` folded and, per folded character, the index of the character it comes from; ``None``
        where Python folds it (:class:`matchers.normalize.FoldMap`)."""
        ...


@dataclass(frozen=True, slots=True)
class Engine:
    """One implementation of the automaton, the triage and the batch ASCII fold."""

    name: str  # "native" or "pure"
    #: The search over keys; ``anchors_from``: the index of the first key that is only an anchor of the
    #: fuzzy tier, and ``grams``: the gram table (the native search finds those keys by their rarest gram).
    key_search: Callable[..., KeySearcher]
    triage: Callable[..., Triager]
    fold_ascii: Callable[[bytes], bytes]
    #: What ``txscreen --version`` and the start-up report say of it.
    description: str
    #: The native verification index of the fuzzy tier's anchor finds; ``None``: the Python one
    #: (:mod:`matchers.fuzzy`, used by :mod:`matchers.screening`).
    fuzzy_index: Callable[[], Any] | None = None
    #: The native OSA verification of one anchor find; ``None``: :func:`matchers.fuzzy.verify_py`.
    fuzzy_verify: Callable[..., list[tuple[int, int, int]]] | None = None
    #: A built key search read back from what its ``to_bytes`` wrote (the build cache keeps it);
    #: ``None``: the engine's search is built from the keys every time (pyahocorasick's).
    search_from_bytes: Callable[[bytes], KeySearcher] | None = None
    #: Key bytes up to which a built search has ``to_bytes`` (the native double arrays).
    saved_search_keys: int = 0
    #: The native cut of a form into the fuzzy tier's anchors, built from a gram table and a cap;
    #: ``None``: :func:`matchers.fuzzy.plan` (see :func:`matchers.fuzzy.planner`).
    anchor_planner: Callable[[dict[str, int], int], Any] | None = None

    @property
    def native(self) -> bool:
        """True for the native fast path."""
        return self.name == "native"


class PureKeySearch:
    """:class:`KeySearcher` on pyahocorasick, over bytes seen as Latin-1 text (offsets are byte offsets)."""

    def __init__(
        self, keys: Iterable[bytes], *, anchors_from: int | None = None, grams: object = None
    ) -> None:
        """``anchors_from`` (the first key that is only a fuzzy anchor) and ``grams`` are for the native
        search, which finds those keys by gram; here one automaton finds every key."""
        del anchors_from, grams
        self._automaton = ahocorasick.Automaton()
        count = 0
        for index, key in enumerate(keys):
            if not isinstance(key, bytes | bytearray):
                raise TypeError(f"a key is {type(key).__name__}, not bytes")
            if not key:
                raise ValueError("a key is empty")
            word = bytes(key).decode("latin-1")
            held = self._automaton.get(word, None)  # a repeated key is found once per index, as natively
            self._automaton.add_word(word, (len(key), (*held[1], index) if held else (index,)))
            count += 1
        self._count = count
        if count:
            self._automaton.make_automaton()

    def __len__(self) -> int:
        return self._count

    def find(self, haystack: bytes) -> list[tuple[int, int, int]]:
        """``(key index, start, end)`` of every key occurrence, in bytes."""
        if not self._count:
            return []
        found = []
        for last, (length, indices) in self._automaton.iter(haystack.decode("latin-1")):
            end = last + 1
            for index in indices:
                found.append((index, end - length, end))
        return found


class PureTriage:
    """:class:`Triager` that sends every event to the full path, which decides every verdict alike."""

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        """Takes the native triage's arguments and needs none of them."""

    def classify(
        self, raws: Sequence[bytes | None], max_event_bytes: int
    ) -> tuple[bytes, list[str], list[int]]:
        """Every event: ``FULL_PATH``."""
        del max_event_bytes  # the full path applies the size limit
        return bytes([TriageCode.FULL_PATH]) * len(raws), [], []

    def key_fields(self, raws: Sequence[bytes | None], max_event_bytes: int) -> bytes:
        """Every field of every event: the full path screens them all."""
        del max_event_bytes
        return bytes([ALL_FIELDS]) * len(raws)

    def fold_positions(self, text: str) -> None:
        """Python folds every text (:func:`matchers.normalize.fold_with_spans_by_chunks`)."""
        del text


def _batch_fold_table() -> bytes:
    """The native batch fold as a byte table: letters (lower-cased), digits and NUL kept, others a space."""
    table = bytearray(b" " * 256)
    for c in range(128):
        if chr(c).isascii() and chr(c).isalnum():
            table[c] = ord(chr(c).lower())
    table[0] = 0
    return bytes(table)


_BATCH_FOLD: Final = _batch_fold_table()
_SPACE_RUNS: Final = re.compile(b" {2,}")


def pure_fold_ascii(data: bytes) -> bytes:
    """An ASCII batch string folded: lower case; letters, digits, NUL kept; others a space; runs collapsed."""
    return _SPACE_RUNS.sub(b" ", data.translate(_BATCH_FOLD))


PURE: Final = Engine(
    "pure",
    PureKeySearch,
    PureTriage,
    pure_fold_ascii,
    f"pure Python: about {PURE_SLOWDOWN}× slower; {GET_THE_FAST_PATH}",
)


#: The pure engine where the native one may be built but ``TXSCREEN_PURE_PYTHON=1`` turns it off.
FORCED_PURE: Final = Engine(
    PURE.name,
    PURE.key_search,
    PURE.triage,
    PURE.fold_ascii,
    f"pure Python ({PURE_PYTHON_ENV}=1): about {PURE_SLOWDOWN}× slower than the native fast path",
)


#: Sample traffic the native automaton's layout is profiled on (:mod:`matchers.scan_corpus_gen`).
SCAN_CORPUS: Final = Path(__file__).resolve().parent / "data" / "scan-corpus.txt"
#: What stands for the text separator (NUL) in the corpus file (no folded text holds one).
NUL_MARK: Final = "|"


@cache
def scan_corpus() -> bytes:
    """The corpus lines as the native search takes them (NULs restored, comment lines left out); empty
    when the file is missing (the layout is then unprofiled: slower scans, the same finds)."""
    try:
        text = SCAN_CORPUS.read_text(encoding="utf-8")
    except OSError:
        return b""
    lines = (line for line in text.splitlines() if line and not line.startswith("#"))
    return "\n".join(lines).replace(NUL_MARK, "\0").encode("utf-8")


@cache
def native_engine() -> Engine | None:
    """The native fast path, or ``None`` when ``matchers._native`` was not built (or does not load)."""
    try:
        native = importlib.import_module("matchers._native")
    except ImportError:
        return None

    def key_search(keys: Iterable[bytes], **options: Any) -> KeySearcher:
        """The native search, its layout profiled on :func:`scan_corpus` unless ``corpus`` is given."""
        options.setdefault("corpus", scan_corpus())
        return cast(KeySearcher, native.KeySearch(keys, **options))

    return Engine(
        "native",
        key_search,
        native.Triage,
        native.fold_ascii,
        f"native fast path ({native.__name__})",
        getattr(native, "FuzzyIndex", None),
        getattr(native, "fuzzy_verify", None),
        native.KeySearch.from_bytes,
        native.DOUBLE_ARRAY_KEY_BYTES,
        getattr(native, "AnchorPlanner", None),
    )


def native_available() -> bool:
    """True when the native fast path is built and loads."""
    return native_engine() is not None


def choose(pure_python: str | None) -> Engine:
    """The engine for a ``TXSCREEN_PURE_PYTHON`` value: ``1`` forces pure Python; unset, empty or ``0``
    picks the native fast path when built; anything else is a :class:`ConfigError`."""
    if pure_python == "1":  # the native module is not even imported: as on a machine without it
        return FORCED_PURE
    if pure_python not in (None, "", "0"):
        raise ConfigError(f"{PURE_PYTHON_ENV} must be 1 (pure Python) or 0, not {pure_python!r}")
    return native_engine() or PURE


@cache
def engine() -> Engine:
    """The engine of this process, chosen on first use from ``TXSCREEN_PURE_PYTHON`` (see :func:`choose`)."""
    return choose(os.environ.get(PURE_PYTHON_ENV))


def use_pure() -> bool:
    """True when this process screens on the pure-Python engine."""
    return not engine().native


def fold_ascii(data: bytes) -> bytes:
    """The batch ASCII fold of this process's engine (both give the same bytes)."""
    return engine().fold_ascii(data)
