"""The native triage folds and reads text in any script exactly as Python does (issue 9 §2).

``matchers.normalize.fold`` and ``readings`` are the reference; the triage's table-driven fold
(``native/src/fold.rs``) must give the same string for every character it handles, alone and in
context, or hand the text back (``None``).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.automaton import NameAutomaton
from matchers.normalize import (
    ASSIGNED_SPANS,
    FLAG_CONFUSABLE,
    FLAG_LATIN,
    FLAG_LIKE,
    FoldMap,
    fold,
    native_fold_table,
    readings,
)
from matchers.triage import TriageCode
from matchers.watchlist import Watchlist
from streams.loadgen.synthetic import EventFactory, TrafficProfile

_LATIN_AND_LOOKALIKE = FLAG_LATIN | FLAG_CONFUSABLE


@pytest.fixture(scope="module")
def triage(native_automaton: NameAutomaton) -> object:
    """The native triage over the bundled lists (also under TXSCREEN_PURE_PYTHON=1)."""
    return native_automaton.triage


#: Contexts each table character is folded in: alone, doubled, beside Latin, Cyrillic, Han, Devanagari
#: and Arabic letters, digits, and between separators.
_CONTEXTS = ["{}", "{}{}", "x{}y", "а{}б", "字{}字", "क{}ि", "ب{}ت", "1{}2", " {} - {}.", "Ab {}ẞ"]


def test_native_fold_equals_python_fold_on_every_table_character(triage: object) -> None:
    """For every character of the generated table, in ten contexts, the native fold is fold's or None;
    and every character folds natively on its own, but those both Latin and a look-alike and not
    all Latin-like (``latinize`` reads them by their word)."""
    table = native_fold_table()
    mismatches = []
    handed_back = []
    for ch, entry in table.items():
        for context in _CONTEXTS:
            text = context.format(ch, ch)
            native = triage.fold(text)  # type: ignore[attr-defined]
            if native is not None and native != fold(text):
                mismatches.append((text, native, fold(text)))
        flags = entry[8]
        either = flags & _LATIN_AND_LOOKALIKE != _LATIN_AND_LOOKALIKE or flags & FLAG_LIKE
        if either and triage.fold(ch) is None:  # type: ignore[attr-defined]
            handed_back.append(ch)
    assert mismatches[:20] == []
    assert handed_back[:20] == []


def _python_layout(text: str) -> set[str]:
    return {fold(text), *(fold(reading) for reading, _ in readings(text))}


def _native_layout(triage: object, text: str) -> set[str] | None:
    laid = triage.layout_text(text)  # type: ignore[attr-defined]
    if laid is None:
        return None
    return {part.strip() for part in laid.decode().split("\x00")[1:-1]}


_WORDS = [
    *["ООО", "Вектор", "Плюс", "АО", "Смирнов", "ёж", "рахунку", "ТОВ", "Αιγαίο", "Α.Ε.", "Ε.Π.Ε."],
    *["Παπαδόπουλος", "محمد", "مُحَمَّد", "شرکت", "پرداخت", "ی", "דוד", "כהן", 'בע"מ', "王伟", "株式会社"],
    *["さくら", "が", "민준", "김", "मोहन", "शर्मा", "प्रा.", "ใจดี", "สมชาย", "จำกัด", "(มหาชน)", "१२३", "٣"],
    *["Müller", "Łódź", "HAMAS", "h", "a", "m", "ʜᴀᴍᴀꜱ", "намаѕ", "½", "№", "ﬁ", "Ⅻ", "①", "x"],
    *["1000€", "€", "ж××", "×", "a×", "ı", "Yılmaz", "Αιγαίο", "й", "ᴎ", "\u0301", "ि\u0301", "ї"],
]
_SEPARATORS = [" ", "  ", "-", ".", ", ", "«", "»", "/", "", "'", "、", "。", "_", " . "]
_texts = st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from(_SEPARATORS)), max_size=6).map(
    lambda parts: "".join(w + s for w, s in parts)
)


@settings(max_examples=400, deadline=None)
@given(_texts)
def test_native_readings_equal_python_readings(triage: object, text: str) -> None:
    """The native layout of a text holds exactly its fold and the folds of its other readings."""
    native = _native_layout(triage, text)
    if native is not None:
        assert native == _python_layout(text)


def test_multilingual_traffic_never_reaches_python_per_text(
    native_exact_automaton: NameAutomaton, default_lists: tuple[Watchlist, ...]
) -> None:
    """On the multilingual profile, with no listed name planted, the exact tier's triage clears almost every
    event natively (the fuzzy tier's anchors send more to the full path: its cost has its own guard)."""
    triage = native_exact_automaton.triage
    factory = EventFactory(default_lists, seed=3, listed_share=0.0, profile=TrafficProfile.MULTILINGUAL)
    raws = list(factory.stream(3000))
    codes, texts, _ = triage.classify(raws, 1 << 20)  # type: ignore[attr-defined]
    assert sum(code == TriageCode.CLEAN for code in codes) / len(codes) > 0.95
    assert len(texts) < 0.02 * len(raws)


@pytest.mark.parametrize("when", [datetime(2021, 1, 1, tzinfo=UTC)])
def test_a_listed_name_in_another_script_still_takes_the_full_path(triage: object, when: datetime) -> None:
    """A listed Cyrillic or Han name in an event is never cleared by the native fold."""
    assert _native_layout(triage, "字节跳动") is not None
    raw = (
        b'{"id":"p","created_at":"2020-10-01T12:00:00Z","amount":"1.00","currency":"EUR",'
        b'"debtor":{"name":"\xe5\xad\x97\xe8\x8a\x82\xe8\xb7\xb3\xe5\x8a\xa8"},"creditor":{"name":"B"}}'
    )
    codes, _, _ = triage.classify([raw], 1 << 20)  # type: ignore[attr-defined]
    assert list(codes) == [TriageCode.FULL_PATH]


def test_the_assigned_spans_hold_every_code_point_the_tables_need() -> None:
    """Outside ASSIGNED_SPANS every code point is unassigned or private use, with no decomposition."""
    spans = ASSIGNED_SPANS
    outside = [
        cp
        for cp in range(sys.maxunicode + 1)
        if not any(a <= cp < b for a, b in spans)
        and (unicodedata.category(chr(cp)) not in ("Cn", "Co") or unicodedata.decomposition(chr(cp)))
    ]
    assert outside == []


def _same_way_back(triage: object, text: str) -> None:
    """Assert the native FoldMap of ``text`` (where it folds) folds and maps back as Python's."""
    python = FoldMap(text)
    native = FoldMap(text, native=triage.fold_positions)  # type: ignore[attr-defined]
    assert native.folded == python.folded
    letters = [i for i, c in enumerate(python.folded) if not c.isspace()]
    for start in letters:
        for end in letters:
            if end >= start:
                assert native.span(start, end + 1) == python.span(start, end + 1), (text, start, end)


@settings(max_examples=400, deadline=None)
@given(_texts)
def test_native_way_back_equals_python_way_back(triage: object, text: str) -> None:
    """The native fold with positions gives FoldMap the fold and, for every span from a letter to a
    letter, the same original span as Python's fold with spans (hits' offsets)."""
    _same_way_back(triage, text)


def test_native_way_back_on_table_characters_and_traffic(
    triage: object, default_lists: tuple[Watchlist, ...]
) -> None:
    """The same holds for every table character in context and for multilingual traffic texts, and
    the native fold with positions hands back what only Python folds."""
    table = native_fold_table()
    texts = [context.format(ch, ch) for ch in list(table)[::7] for context in _CONTEXTS[:4]]
    factory = EventFactory(default_lists, seed=5, listed_share=0.05, profile=TrafficProfile.MULTILINGUAL)
    for raw in factory.stream(300):
        event = json.loads(raw)
        texts += [event["debtor"]["name"], event["creditor"]["name"], event.get("remittance") or ""]
    folded = 0
    for text in texts:
        if triage.fold_positions(text) is not None:  # type: ignore[attr-defined]
            folded += 1
            _same_way_back(triage, text)
    assert triage.fold_positions("a\u200bb") is None  # type: ignore[attr-defined]
    assert folded > len(texts) // 2


def test_the_triage_lets_other_threads_run_while_it_classifies(
    native_automaton: NameAutomaton, default_lists: tuple[Watchlist, ...]
) -> None:
    """`classify` releases the GIL (the worker's commit thread runs beside the screening): a Python thread
    that notes the time in a loop notes times inside one long classify call, and the codes are the same."""
    factory = EventFactory(default_lists, seed=11, listed_share=0.01, profile=TrafficProfile.MULTILINGUAL)
    raws = list(factory.stream(4000)) * 25
    triage = native_automaton.triage
    stamps: list[float] = []
    started, stop = threading.Event(), threading.Event()

    def note_the_time() -> None:
        started.set()
        while not stop.is_set():
            now = time.perf_counter()
            if not stamps or now - stamps[-1] > 0.0005:
                stamps.append(now)

    before = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        noter = threading.Thread(target=note_the_time)
        noter.start()
        started.wait()
        start = time.perf_counter()
        codes, _, _ = triage.classify(raws, 1 << 20)  # type: ignore[attr-defined]
        end = time.perf_counter()
        stop.set()
        noter.join()
    finally:
        sys.setswitchinterval(before)
    margin = (end - start) / 10
    assert [t for t in stamps if start + margin < t < end - margin]
    assert codes == triage.classify(raws[:4000], 1 << 20)[0] * 25  # type: ignore[attr-defined]
