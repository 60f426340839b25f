"""Disguised names block (issue 7, items 2 and 8): ignorables, look-alikes, letters apart, inner marks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.automaton import NameAutomaton
from matchers.normalize import (
    READING_KINDS,
    FoldMap,
    _joins,
    _lookalike_res,
    _reading_res,
    fold,
    fold_with_spans,
    fold_with_spans_by_chunks,
    may_have_readings,
    readings,
    readings_of_many,
)
from matchers.screening import check_text, screen_batch, screen_batch_full
from matchers.triage import TriageCode
from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist
from schemas.records import Verdict

# Every character that was cleared inside "HA<c>MAS" on the old main, and a few that were not.
IGNORABLES = [
    "\u0000",
    "\u0001",
    "\u007f",
    "\u3164",  # Hangul filler (a letter)
    "\u115f",  # Hangul choseong filler (a letter)
    "\u2800",  # Braille blank (a symbol)
    "\u17b4",  # Khmer vowel inherent aq
    "\ufe0f",  # variation selector 16
    "\U000e0101",  # variation selector 18
    "\U000e0061",  # tag latin small a
    "\u0001\u200b",  # two in a row
    "\u001f",
    "\u009f",  # C1 control
    "\u200b",
    "\u00ad",
]

DISGUISED = [
    *[(f"payment to HA{c}MAS", "HAMAS") for c in IGNORABLES],
    *[(f"BANCO{c}NACIONAL DE CUBA", "BANCO NACIONAL DE CUBA") for c in IGNORABLES],
    ("payment to ʜᴀᴍᴀꜱ", "HAMAS"),  # small capitals
    ("BANC\u0585 NACIONAL DE CUBA", "BANCO NACIONAL DE CUBA"),  # Armenian oh
    ("payment to ᎻAMAS", "HAMAS"),  # Cherokee letter MO
    ("payment to H A M A S", "HAMAS"),
    ("payment to H.A.M.A.S.", "HAMAS"),
    ("payment to H-A-M-A-S", "HAMAS"),
    ("payment to H . A . M . A . S", "HAMAS"),
    ("payment to HA-MAS", "HAMAS"),
    ("payment to HA.MAS", "HAMAS"),
    ("payment to HA'MAS", "HAMAS"),
    ("BAN-CO NA.CIONAL DE CUBA", "BANCO NACIONAL DE CUBA"),
    ("B A N C O NACIONAL DE CUBA", "BANCO NACIONAL DE CUBA"),
    ("BAN-CO N A C I O N A L DE CUBA", "BANCO NACIONAL DE CUBA"),  # both rules in one reading
    ("payment to HA\u200b-MAS", "HAMAS"),  # an ignorable and a break in one word
    # Words made only of look-alikes, from one script or several (a reading latinizes them).
    ("payment to намаѕ", "HAMAS"),  # lower-case Cyrillic
    ("payment to НАМАЅ", "HAMAS"),  # capital Cyrillic
    ("payment to ᎻᎪᎷᎪᏚ", "HAMAS"),  # Cherokee
    ("payment to ꓧꓮꓟꓮꓢ", "HAMAS"),  # Lisu
    ("payment to ΗΑΜΑЅ", "HAMAS"),  # Greek capitals and a Cyrillic dze
    ("payment to Н.А.М.А.Ѕ.", "HAMAS"),  # Cyrillic, dotted apart
    ("payment to на\u200bмаѕ", "HAMAS"),  # Cyrillic with an ignorable inside
    ("payment to НА-МАЅ", "HAMAS"),  # Cyrillic with a break inside
    ("БАНКО НАЦИОНАЛ ДЕ CUBA", None),  # not a look-alike word (Б, Ц, Л, Д): stays Cyrillic, clear
]


@pytest.mark.parametrize(("remittance", "disguised"), DISGUISED)
def test_disguised_names_block_on_both_paths_with_original_offsets(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes], remittance: str, disguised: str | None
) -> None:
    """A name hidden by an ignorable, look-alike, spacing or punctuation blocks, on the fast and full path."""
    raw = make_event(remittance=remittance)
    if disguised is None:
        assert screen_batch([raw], default_automaton).verdicts == [Verdict.CLEARED]
        assert screen_batch_full([raw], default_automaton).verdicts == [Verdict.CLEARED]
        return
    for result in (screen_batch([raw], default_automaton), screen_batch_full([raw], default_automaton)):
        assert result.verdicts == [Verdict.BLOCKED]
        hits = [h for h in result.hits[0] if h.field == "remittance"]
        assert disguised in {h.entity_name for h in hits} or any(h.matched_name == disguised for h in hits)
        for hit in hits:
            assert hit.matched_text == remittance[hit.start : hit.end]
            assert fold(hit.matched_text).replace(" ", "") != ""


def test_hit_offsets_cover_the_disguised_spelling(default_automaton: NameAutomaton) -> None:
    """Offsets point at the written form in the original text, separators and invisible characters too."""
    cases = {
        "payment to HA\u0001MAS now": "HA\u0001MAS",
        "to H.A.M.A.S. now": "H.A.M.A.S",
        "to HA-MAS now": "HA-MAS",
        "to ʜᴀᴍᴀꜱ now": "ʜᴀᴍᴀꜱ",
        "BANCO\u3164NACIONAL DE CUBA": "BANCO\u3164NACIONAL DE CUBA",
        "to намаѕ now": "намаѕ",
        "to ᎻᎪᎷᎪᏚ, now": "ᎻᎪᎷᎪᏚ",
        "to Н.А.М.А.Ѕ now": "Н.А.М.А.Ѕ",
    }
    for text, written in cases.items():
        hits = check_text(text, default_automaton)
        assert {h.matched_text for h in hits} == {written}, text


@pytest.mark.parametrize(
    "remittance",
    ["e-mail of 2024-01-05", "U.S. A B C", "Hamasaki Trading", "Москва, ул. Тверская 7", "a b", "H A M"],
)
def test_ordinary_text_stays_clear(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes], remittance: str
) -> None:
    """Common punctuation and spacing do not invent a hit, on either path."""
    raw = make_event(remittance=remittance)
    assert screen_batch([raw], default_automaton).verdicts == [Verdict.CLEARED]
    assert screen_batch_full([raw], default_automaton).verdicts == [Verdict.CLEARED]


# Ordinary Cyrillic and Greek words and names, many made only of look-alikes of Latin letters.
ORDINARY_OTHER_SCRIPTS = [
    "Москва",
    "МОСКВА",
    "москва",
    "ООО Ромашка, г. Москва",
    "АО ВТБ Банк",
    "Сбербанк России",
    "Иван Петрович Сидоров",
    "ИВАН ПЕТРОВИЧ СИДОРОВ",
    "оплата по счету № 15 от 01.02.2024",
    "ОПЛАТА ПО СЧЕТУ",
    "Томск, Омск, Сочи, Казань",
    "Кокс Хаус",
    "Αθήνα",
    "ΑΘΗΝΑ",
    "ΚΑΙ ΤΟ ΜΕΤΟΧΟ",
    "Γιάννης Παπαδόπουλος",
    "Εθνική Τράπεζα της Ελλάδος",
    "πληρωμή τιμολογίου 42",
    "Θεσσαλονίκη",
    "ТОКИО МАРКЕТ",
]


@pytest.mark.parametrize("remittance", ORDINARY_OTHER_SCRIPTS)
def test_ordinary_cyrillic_and_greek_stay_clear(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes], remittance: str
) -> None:
    """Ordinary Cyrillic and Greek words, latinized in a reading, do not hit the bundled lists."""
    for field in ("remittance", "creditor"):
        raw = make_event(**{field: remittance})
        assert screen_batch([raw], default_automaton).verdicts == [Verdict.CLEARED], field
        assert screen_batch_full([raw], default_automaton).verdicts == [Verdict.CLEARED], field


def _one_name_automaton(name: str) -> NameAutomaton:
    entity = Entity(
        "t:1", "t", EntityType.ENTITY, (ListedName(name, NameStrength.STRONG),), ("P",), None, None
    )
    return NameAutomaton([Watchlist.build("t", "test", [entity])])


@pytest.mark.parametrize(
    "listed", ["МОСКВА ТОРГ", "Москва Торг", "ΣΟΦΙΑ ΑΕ", "Σοφία ΑΕ", "ТІКТОК", "ОРЕХОВО АО"]
)
def test_a_cyrillic_or_greek_name_matches_itself_in_any_case(listed: str) -> None:
    """A name listed in Cyrillic or Greek keeps its script and matches itself in capitals and lower case."""
    automaton = _one_name_automaton(listed)
    for written in (listed, listed.upper(), listed.lower(), listed.title()):
        hits = check_text(f"оплата {written} 7", automaton)
        assert [h.matched_text for h in hits] == [written], written


def test_a_latin_name_matches_its_look_alike_spelling_only_in_the_reading() -> None:
    """A Latin listed name matches a word of look-alikes (a reading); the fold keeps that word's script."""
    automaton = _one_name_automaton("MOCKBA")
    assert fold("МОСКВА") == "москва"
    assert [h.matched_text for h in check_text("to МОСКВА now", automaton)] == ["МОСКВА"]
    assert [h.matched_text for h in check_text("to Москва now", automaton)] == ["Москва"]


def test_whole_field_rules_apply_to_a_reading_of_the_whole_field(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """A party name that reads as a listed short name once joined (F.S.B., F S B) blocks like the name."""
    for name in ("F.S.B.", "F S B", "F-S-B", "F\u200bSB", "F\u0001SB"):
        result = screen_batch([make_event(creditor=name)], default_automaton)
        assert result.verdicts == [Verdict.BLOCKED], name
        assert {h.rule for h in result.hits[0]} == {"whole-field"}
    assert screen_batch([make_event(remittance="F.S.B.")], default_automaton).verdicts == [Verdict.CLEARED]


def test_readings_of_one_text_give_each_hit_once(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """A name found in several readings of a field (nothing, space, joined) is one hit, not several."""
    result = screen_batch([make_event(remittance="HAMAS and H\u200bA-M.A S")], default_automaton)
    spans = [(h.entity_id, h.field, h.start, h.end) for h in result.hits[0]]
    assert len(spans) == len(set(spans))


def test_readings_and_their_positions() -> None:
    """Each reading lists where each of its characters stands in the original text."""
    assert readings("plain words") == []
    assert readings("HA\u0001MAS", positions=True) == [
        ("HAMAS", [0, 1, 3, 4, 5]),
        ("HA MAS", [0, 1, 2, 3, 4, 5]),
    ]
    assert readings("H.A.M.A.S.", positions=True) == [("HAMAS.", [0, 2, 4, 6, 8, 9])]
    assert readings("HA-MAS") == [("HAMAS", None)]
    assert readings("e-mail") == [("email", None)]
    assert readings("a b c d") == [("abcd", None)]
    assert readings("a bc d e") == []  # no run of three single letters
    assert readings("16.06.2020, 1,250.00") == []  # digits on both sides: dates and amounts
    assert readings("to намаѕ", positions=True) == [("to hamas", [0, 1, 2, 3, 4, 5, 6, 7])]
    assert readings("ʤᴀ!", positions=True) == [("d\u021da!", [0, 0, 1, 2])]  # ʤ reads as two letters
    assert readings("Банк") == []  # Б is no look-alike: the word keeps its script
    assert readings("Н-А", positions=True) == [("НА", [0, 2]), ("H-A", [0, 1, 2]), ("HA", [0, 2])]


def test_fold_map_of_a_reading_maps_back_to_the_original() -> None:
    """A folded range of a reading maps to the original characters it came from."""
    [(reading, positions)] = readings("to H.A.M.A.S now", positions=True)
    folded = FoldMap(reading, positions)
    start = folded.folded.index("hamas")
    assert folded.span(start, start + 5) == (3, 12)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("e-mail U.S. A B C", TriageCode.CLEAN),  # ASCII readings are searched natively: still cleared there
        ("payment to H A M A S", TriageCode.FULL_PATH),  # a key in a native reading: the full path decides
        ("payment to HA-MAS", TriageCode.FULL_PATH),
        # controls go back to Python, which reads them both ways
        ("payment to HA\u0001MAS", TriageCode.CHECK_TEXTS),
        ("Zürich-Straße A B C", TriageCode.CLEAN),
    ],
)
def test_triage_reads_ascii_texts_natively(
    native_exact_automaton: NameAutomaton, make_event: Callable[..., bytes], text: str, code: TriageCode
) -> None:
    """(Exact keys) The native triage clears common punctuation natively and never clears a disguised name."""
    codes, _, _ = native_exact_automaton.triage.classify([make_event(remittance=text)], 1 << 20)
    assert codes[0] == code


_PIECES = st.sampled_from(
    [*"aZh1 -._'!,\t", "é", "e\u0301", "\u0301", "ß", "²", "٣", "字", "ʜ", "\u00a0", "x y"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=16).map("".join))
def test_cheap_first_looks_miss_no_reading(text: str) -> None:
    """The fast pre-checks find every inner break (not between digits) and single-letter run there is."""
    inside, run, gap, _ = _reading_res()
    exact_breaks = [
        m.span()
        for m in inside.finditer(text)
        if not (text[m.start() - 1].isdecimal() and text[m.end()].isdecimal())  # 16.06.2020 stays apart
    ]
    exact_gaps = [g.span() for m in run.finditer(text) for g in gap.finditer(text, m.start(), m.end())]
    assert _joins(text) == (exact_breaks, exact_gaps)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(_PIECES | st.sampled_from(["\x01", "\u200b", "\n"]), max_size=8).map("".join), max_size=6
    )
)
def test_batch_first_look_flags_every_text_with_readings(texts: list[str]) -> None:
    """The one search over many texts flags each text that has another reading."""
    flagged = set(may_have_readings(texts))
    assert {k for k, text in enumerate(texts) if readings(text)} <= flagged


_MANY_PIECES = _PIECES | st.sampled_from(
    ["\x01", "\u200b", "\n", "на", "ѕ", "ʤ", "Б", "ё", "\u0301", "7", "Ａ", "-"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_MANY_PIECES, max_size=8).map("".join), max_size=6))
def test_readings_of_many_texts_are_those_of_each(texts: list[str]) -> None:
    """The batch readings of many texts are exactly each text's readings, in order, for any kinds."""
    for kinds in (READING_KINDS, frozenset({"lookalike"}), frozenset({"inside", "apart"})):
        expected = [
            (k, reading) for k, text in enumerate(texts) for reading, _ in readings(text, kinds=kinds)
        ]
        assert readings_of_many(texts, kinds=kinds) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(_MANY_PIECES | st.sampled_from([" ", "  ", "\t", ", "]), max_size=16).map("".join))
def test_folding_piece_by_piece_gives_the_same_fold_and_letter_spans(text: str) -> None:
    """The piecewise fold with spans equals the whole one: the same fold, the same span for each letter."""
    folded, spans = fold_with_spans_by_chunks(text)
    whole, whole_spans = fold_with_spans(text)
    assert folded == whole == fold(text)
    assert [s for c, s in zip(folded, spans, strict=True) if c != " "] == [
        s for c, s in zip(whole, whole_spans, strict=True) if c != " "
    ]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        _MANY_PIECES | st.sampled_from(["\u222a", "\u2113", "\u0640", "\u200d", "x", "Ж"]), max_size=16
    ).map("".join)
)
def test_the_quick_look_alike_word_search_finds_the_same_words(text: str) -> None:
    """Within the Basic Multilingual Plane, the class-first word search finds the general one's words."""
    _, word, bmp_word = _lookalike_res()
    assert [m.span() for m in bmp_word.finditer(text)] == [m.span() for m in word.finditer(text)]
