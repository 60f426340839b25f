"""The native triage clears only what the full Python path clears: screen_batch equals screen_batch_full."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers import backend
from matchers.automaton import NameAutomaton
from matchers.fuzzy import gram_table, plan
from matchers.policy import MatchRule
from matchers.screening import screen_batch, screen_batch_full
from matchers.triage import ALL_FIELDS, TriageCode
from matchers.watchlist import Watchlist
from schemas.events import MAX_EVENT_BYTES, SCREENED_FIELDS
from schemas.records import Verdict

NOW = datetime(2020, 10, 1, 12, tzinfo=UTC)

BASE: dict[str, Any] = {
    "id": "pay-1",
    "created_at": "2020-10-01T12:00:00Z",
    "amount": "1250.00",
    "currency": "EUR",
    "debtor": {"name": "Ann Lee", "country": "DE", "agent": {"bic": "DEUTDEFFXXX", "name": "Deutsche Bank"}},
    "creditor": {"name": "Bob Ray", "address": {"city": "Oslo"}, "country": "NO"},
    "remittance": "Invoice 1",
}

# Values each field may take: valid ones, edge cases of the codec, and wrong ones.
TEXTS = [
    "Ann Lee",
    "Invoice 4711",
    "TikTok ads",
    "HAMAS",
    "payment to hamas",
    "SNOW",
    "Zürich GmbH",
    "Łódź",
    "字节跳动",
    "Tеncent",
    "Москва",
    "a\u0000hamas",
    "",
    "   ",
    "\u3000",
    "\x1c",
    "x" * 300,
    "BANCO NACIONAL DE CUBA",
    "Banco Nacional de Cuba S.A.",
    "al-qaida",
    "ＴＩＫＴＯＫ",
    "Société Générale",
    "BýteDance Ltd",
    "Ｈａｍａｓ",
    "ﬁnance",
    "Hamaś",
    "KAHANE",
    "payment to HA\x01MAS",
    "HA\x7fMAS",
    "HA\u3164MAS",
    "BANCO\u2800NACIONAL DE CUBA",
    "H A M A S",
    "H.A.M.A.S.",
    "HA-MAS",
    "ʜᴀᴍᴀꜱ",
    "BANC\u0585 NACIONAL DE CUBA",
    "e-mail U.S. A B C",
    "T-I-K-T-O-K",
    "Zürich-Straße A B C",
    "намаѕ",
    "МОСКВА",
    "ᎻᎪᎷᎪᏚ",
    "Н.А.М.А.Ѕ",
    "ʤᴀᴍᴀꜱ",
]
TIMESTAMPS = [
    "2020-10-01T12:00:00Z",
    "2020-10-01T12:00:00.123456+02:00",
    "2020-10-01T12:00:00.123456789Z",
    "2020-10-01t12:00:00z",
    "2020-10-01 12:00:00Z",
    "2020-10-01T12:00:00+0200",
    "2020-10-01T12:00:00",
    "2020-02-30T12:00:00Z",
    "2020-02-29T23:59:60Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-23:59",
    "2020-10-01T24:00:00Z",
    "2020-10-01",
    "",
]
AMOUNTS: list[Any] = [
    "1250.00",
    "-1",
    "1.",
    ".5",
    "1e3",
    " 1",
    "1\n",
    "١٢",
    12,
    -0,
    1.5,
    1e300,
    1e15,
    2**63,
    2**64,
    10**30,
    True,
    None,
    [],
]
CURRENCIES: list[Any] = ["EUR", "eur", "EURO", "EU", "€UR", 1, None]
COUNTRIES: list[Any] = ["DE", "de", "XX", "", None, 7]
NAMES: list[Any] = [*TEXTS, None, 1, ["x"], {"name": "x"}]
IDS: list[Any] = ["p", "", "x" * 128, "x" * 129, "é" * 128, 5, None]
MISSING = object()
SCREENED = ["debtor.name", "creditor.name", "debtor.agent.name", "creditor.agent.name", "remittance"]


def _set(event: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = event
    for key in parents:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    if value is MISSING:
        node.pop(leaf, None)
    else:
        node[leaf] = value


FIELDS: dict[str, list[Any]] = {
    "id": [*IDS, MISSING],
    "created_at": [*TIMESTAMPS, None, MISSING],
    "amount": [*AMOUNTS, MISSING],
    "currency": [*CURRENCIES, MISSING],
    "debtor": [None, "Ann", ["Ann"], MISSING],
    "debtor.name": [*NAMES, MISSING],
    "creditor.name": [*NAMES, MISSING],
    "debtor.country": COUNTRIES,
    "creditor.address": ["Main St 1", {"a": [1, {"b": None}]}, None, 1, ["x"]],
    "creditor.account": ["DE89", None, 1],
    "debtor.agent": [None, "Bank", []],
    "debtor.agent.name": [*TEXTS, None, 1],
    "creditor.agent.name": [*TEXTS, None],
    "debtor.agent.bic": ["X", None, 1],
    "remittance": [*TEXTS, None, 1, MISSING],
    "extra": [1, "x", [1, 2], {"deep": [[[]]]}, None],
}


@st.composite
def events(draw: st.DrawFn) -> bytes:
    """A raw event: the base event with a few fields replaced, then perhaps mangled as text."""
    event = json.loads(json.dumps(BASE))
    for path in draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=4, unique=True)):
        _set(event, path, draw(st.sampled_from(FIELDS[path])))
    raw = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    mangles = ["escape", "duplicate", "array", "truncate", "spaces", "bom"]
    mangle = draw(st.sampled_from(["none"] * 6 + mangles))
    if mangle == "escape":  # the same text, written with JSON escapes
        raw = json.dumps(event, ensure_ascii=True).encode()
    elif mangle == "duplicate":  # a repeated field: both paths dead-letter it
        key = draw(st.sampled_from(["id", "remittance", "debtor", "created_at"]))
        raw = raw[:-1] + b',"' + key.encode() + b'":' + orjson.dumps(draw(st.sampled_from(TEXTS))) + b"}"
    elif mangle == "array":
        raw = b"[" + raw + b"]"
    elif mangle == "truncate":
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif mangle == "spaces":
        raw = b" \n" + raw + b"\t "
    elif mangle == "bom":
        raw = b"\xef\xbb\xbf" + raw
    return raw


def _same(raws: list[Any], automaton: NameAutomaton, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
    fast = screen_batch(raws, automaton, NOW, lambda i: {"line": i}, max_event_bytes=max_event_bytes)
    full = screen_batch_full(raws, automaton, NOW, lambda i: {"line": i}, max_event_bytes=max_event_bytes)
    assert fast.verdicts == full.verdicts
    assert fast.values == full.values
    assert fast.errors == full.errors
    assert fast.hits == full.hits


@settings(max_examples=500, deadline=None)
@given(st.lists(events(), min_size=1, max_size=12))
def test_fast_path_agrees_with_the_full_path(default_automaton: NameAutomaton, raws: list[bytes]) -> None:
    """On valid, edge-case and broken events alike, the triaged batch gives the full path's outputs."""
    _same(raws, default_automaton)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(sorted({*TEXTS, "Hamasaki Trading", "DOVER"})), min_size=5, max_size=5))
def test_fast_path_agrees_on_listed_names_in_every_field(
    default_automaton: NameAutomaton, texts: list[str]
) -> None:
    """Listed, look-alike and clean names in any screened field give the same hits on both paths."""
    event = json.loads(json.dumps(BASE))
    for path, text in zip(SCREENED, texts, strict=True):
        _set(event, path, text or "x")
    _same([orjson.dumps(event), orjson.dumps(BASE)], default_automaton)


def test_fast_path_agrees_on_real_names(
    default_lists: tuple[Watchlist, ...], make_event: Callable[..., bytes]
) -> None:
    """Every 20th listed name, as creditor and inside a remittance, blocks alike on both paths."""
    automaton = NameAutomaton(default_lists)
    names = [name.text for wl in default_lists for e in wl.entities for name in e.names][::20]
    raws = [make_event(creditor=n, event_id=f"c{i}") for i, n in enumerate(names)]
    raws += [make_event(remittance=f"for {n} thanks", event_id=f"r{i}") for i, n in enumerate(names)]
    _same(raws, automaton)
    assert screen_batch(raws, automaton, NOW).blocked > len(names) // 2


def test_triage_codes(native_exact_automaton: NameAutomaton, make_event: Callable[..., bytes]) -> None:
    """Exact keys: clean events in any script clear natively, texts with invisible characters are handed
    back, doubtful events take the full path."""
    raws = [
        make_event(debtor="Сергей Попов", remittance="Счёт 12 货款 발송 मोहन"),
        make_event(creditor="Zürich Handels AG", remittance="Счёт\u200b12"),
        make_event(creditor="TikTok Pte"),
        b'{"id": 1}',
        None,
        bytearray(make_event()),
        make_event(remittance="x" * 100),
    ]
    codes, texts, owners = native_exact_automaton.triage.classify(raws, MAX_EVENT_BYTES)
    clean, full, check = TriageCode.CLEAN, TriageCode.FULL_PATH, TriageCode.CHECK_TEXTS
    assert list(codes) == [clean, check, full, full, full, full, clean]
    assert (texts, owners) == (["Счёт\u200b12"], [1])  # read both ways (policy a): in Python
    assert list(native_exact_automaton.triage.classify(raws[-1:], 50)[0]) == [TriageCode.FULL_PATH]


def _bits(*fields: str) -> int:
    """The ``key_fields`` byte of these screened fields."""
    return sum(1 << SCREENED_FIELDS.index(field) for field in fields)


def test_key_fields_name_the_fields_that_hold_a_key(
    native_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """The triage names the fields the full path must screen: a listed name's field (or the party field
    whose inverted reading holds one, or a text only Python reads), never a clean field or one whose
    fuzzy anchor fails; every field of an event it cannot read."""
    table = gram_table()
    forms = (native_automaton.fuzzy_target(i) for i in range(native_automaton.fuzzy_name_count))
    form = next(
        f.fuzzy.form
        for f in forms
        if f.target.rule is MatchRule.ANYWHERE and f.fuzzy.form.isascii() and f.fuzzy.form.isalpha()
    )
    planned = plan(form, table)
    assert planned is not None
    anchor = planned.anchors[0][1]
    typo = form[:-2] + form[-1] + form[-2]
    raws = [
        make_event(remittance="payment to Banco Nacional de Cuba", debtor=f"{anchor} and sons"),
        make_event(creditor="HAMAS"),  # a whole-field name
        make_event(creditor="AL-TIKRITI, TAHIR JALIL HABBUSH"),  # only its inverted reading is listed
        make_event(debtor_agent="Bank\u200b of Cuba", remittance=f"for {typo} thanks"),
        make_event(),
        b'{"id": 1}',
        None,
    ]
    fields = native_automaton.triage.key_fields(raws, MAX_EVENT_BYTES)
    assert list(fields) == [
        _bits("remittance"),
        _bits("creditor.name"),
        _bits("creditor.name"),
        _bits("debtor.agent.name", "remittance"),
        0,
        ALL_FIELDS,
        ALL_FIELDS,
    ]
    _same(raws, native_automaton)


@pytest.mark.parametrize("limit", [1, 200, MAX_EVENT_BYTES])
def test_size_limit_holds_on_the_fast_path(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes], limit: int
) -> None:
    """Events over the size limit are dead-lettered, never cleared by the triage."""
    _same([make_event(), make_event(remittance="y" * 300), b""], default_automaton, limit)


_TRICKY = st.sampled_from(
    [
        *"aZh -.'0",
        *["hamas", "tiktok", "ltd", "é", "ü", "ß", "ﬁ", "Ａ", "①", "½", "\u0301", "\u200b", "ł", "ǅ"],
        *["İ", "ı", "\u212a", "\u212b", "ŉ", "ǰ", "ﬀ", "Ⅻ", "㎏", "ª", "\u00a0", "\u2002", "е", "字"],
        *["\x01", "\x7f", "\x1f", "\u3164", "\u2800", "\ufe0f", "ʜ", "ᴀ", "ꜱ", "օ", "！", "_", "™", "²"],
        *["m", "s", "a ", "h.", "-", "t", "i", "k", "o", "T-I", "K.T.O"],
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_TRICKY, max_size=12).map("".join), min_size=5, max_size=5))
def test_native_and_python_folds_agree_on_tricky_letters(
    default_automaton: NameAutomaton, texts: list[str]
) -> None:
    """Texts of compatibility letters, marks and look-alikes around listed names block alike on both paths."""
    event = json.loads(json.dumps(BASE))
    for path, text in zip(SCREENED, texts, strict=True):
        _set(event, path, text if path not in ("debtor.name", "creditor.name") else f"x {text}")
    _same([orjson.dumps(event)], default_automaton)


@pytest.mark.parametrize("engine", [backend.native_engine(), backend.PURE], ids=["native", "pure"])
@pytest.mark.parametrize("keys", [[b"a", b""], [b"a", 3], 5])
def test_key_search_refuses_bad_keys(engine: backend.Engine | None, keys: object) -> None:
    """An empty or non-bytes key is an error at build time, never a silently smaller automaton."""
    if engine is None:
        pytest.skip("the native fast path is not built")
    with pytest.raises((ValueError, TypeError)):
        engine.key_search(keys)  # type: ignore[arg-type]


def test_triage_clears_anchor_finds_that_fail_verification(
    native_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """An event holding only fuzzy anchors that fail verification clears natively; a one-edit typo of the
    name, or a listed name beside the anchor, takes the full path and blocks; both paths agree."""
    table = gram_table()
    forms = (native_automaton.fuzzy_target(i) for i in range(native_automaton.fuzzy_name_count))
    chosen = next(
        f
        for f in forms
        if f.target.rule is MatchRule.ANYWHERE and f.fuzzy.form.isascii() and f.fuzzy.form.isalpha()
    )
    form = chosen.fuzzy.form
    planned = plan(form, table)
    assert planned is not None
    anchor = planned.anchors[0][1]
    typo = form[:-2] + form[-1] + form[-2]  # the last two letters swapped: one edit
    raws = [
        make_event(remittance=f"for {anchor} thanks"),
        make_event(remittance=f"for {typo} thanks"),
        # the same failing anchor, with a listed name in another field: the exact key decides
        make_event(remittance=f"for {anchor} thanks", creditor="Banco Nacional de Cuba"),
        # two failing anchors in two fields: still clean
        make_event(remittance=f"for {anchor} thanks", debtor=f"{anchor} and sons"),
    ]
    codes, _, _ = native_automaton.triage.classify(raws, MAX_EVENT_BYTES)
    assert list(codes) == [TriageCode.CLEAN, TriageCode.FULL_PATH, TriageCode.FULL_PATH, TriageCode.CLEAN]
    _same(raws, native_automaton)
    verdicts = screen_batch(raws, native_automaton, NOW).verdicts
    assert verdicts == [Verdict.CLEARED, Verdict.BLOCKED, Verdict.BLOCKED, Verdict.CLEARED]
