"""Normalization (policy rule a): list names and event text fold the same way."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.normalize import (
    CONFUSABLES,
    fold,
    fold_ascii_batch,
    fold_batch,
    fold_simple_batch,
    fold_with_spans,
    is_simple,
    latinize,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＴＩＫＴＯＫ", "tiktok"),  # full-width compatibility forms
        ("ﬁnance ﬂow", "finance flow"),  # ligatures
        ("Société Générale", "societe generale"),  # diacritics removed
        ("Straße", "strasse"),  # case folding, not just lower-casing
        ("BANCO NACIONAL DE CUBA", "banco nacional de cuba"),
    ],
)
def test_compatibility_diacritics_and_case_fold_away(text: str, expected: str) -> None:
    """Compatibility forms, accents and case do not change the folded name."""
    assert fold(text) == expected


@pytest.mark.parametrize("invisible", ["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\ufeff"])
def test_invisible_format_characters_are_ignored(invisible: str) -> None:
    """Zero-width space/joiner/non-joiner, word joiner, soft hyphen and BOM inside a word vanish."""
    assert fold(f"Byte{invisible}Dance") == "bytedance"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tеncent", "tencent"),  # Cyrillic е
        ("АL-QАIDА", "al qaida"),  # Cyrillic А inside a Latin word
        ("Hаmаs", "hamas"),  # Cyrillic а
        ("ΤΙΚΤΟΚ", "τικτοκ"),  # only Greek look-alikes: keeps its script (a reading latinizes it)
        ("СОРХ", "сорх"),  # only Cyrillic look-alikes: likewise
        ("Сбербанк", "сбербанк"),  # a real Cyrillic word stays Cyrillic
        ("Łоdz", "lodz"),  # next to a Latin letter with a stroke (no decomposition)
        ("Αł", "al"),  # a word of a Greek look-alike and a stroke letter only
        ("С1A", "c1a"),  # through a digit
    ],
)
def test_latin_lookalikes_read_as_latin_inside_latin_words(text: str, expected: str) -> None:
    """Cyrillic and Greek look-alike letters inside an otherwise Latin word read as Latin letters."""
    assert fold(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AL-QAIDA", "al qaida"),
        ("O'BRIEN", "o brien"),
        ("O\u2019Brien", "o brien"),  # typographic apostrophe
        ("Abu ʿUmar", "abu umar"),  # modifier-letter ayn is an apostrophe, not a letter
        ("  ACME ,, Trading\t\n Co.  ", "acme trading co"),  # whitespace runs collapse
        ("A/B & C", "a b c"),
    ],
)
def test_punctuation_and_symbols_separate_and_whitespace_collapses(text: str, expected: str) -> None:
    """Punctuation and symbols become one separator; no separator survives at either end."""
    assert fold(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("字节 跳动", "字节跳动"),  # spaces between Han characters drop
        ("抖音TikTok", "抖音 tiktok"),  # script change is a word boundary
        ("ウサマ・ビン・ラディン", "ウサマビンラディン"),  # Katakana middle dot
        ("김 정은", "김정은"),  # Hangul
    ],
)
def test_cjk_runs_are_joined_and_bounded(text: str, expected: str) -> None:
    """Han, Kana and Hangul runs lose inner spaces and are set apart from other scripts (in NFKD form)."""
    assert fold(text) == unicodedata.normalize("NFKD", expected)


def test_spans_point_back_into_the_original_text() -> None:
    """Every folded character maps to the span of the original characters it came from."""
    text = "Pay ＢｙｔｅＤａｎｃｅ, Ltd."
    folded, spans = fold_with_spans(text)
    start = folded.index("bytedance")
    assert text[spans[start][0] : spans[start + 8][1]] == "ＢｙｔｅＤａｎｃｅ"


_ALPHABET = st.sampled_from(
    [
        *"aZé0 -'.,\t\u200b\u00adеАο字节ウ김ßﬁＡ\u0301\u0308\u3099ʿ_\x00\u0640",
        *["Ǆ", "ǅ", "İ", "ᾳ", "\u0f73", "\u0345", "ℌ", "①", "\ud7a3"],
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_fast_and_slow_fold_agree_on_tricky_alphabet(text: str) -> None:
    """The fast whole-string fold and the offset-mapping fold give the same string."""
    assert fold_with_spans(text)[0] == fold(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_fast_and_slow_fold_agree_on_any_unicode(text: str) -> None:
    """The two folds agree on arbitrary Unicode, and every span lies inside the text."""
    folded, spans = fold_with_spans(text)
    assert folded == fold(text)
    assert all(0 <= a < b <= len(text) for a, b in spans)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_fold_is_idempotent(text: str) -> None:
    """Folding a folded text changes nothing (list names and text meet in one normal form)."""
    once = fold(text)
    assert fold(once) == once


_TEXTS = st.lists(st.text(alphabet=_ALPHABET, max_size=20) | st.text(max_size=15), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_batch_fold_equals_per_text_folds(texts: list[str]) -> None:
    """Folding a whole batch string gives each text's own fold between the separators."""
    folds = [fold(t.replace("\x00", " ")) for t in texts]
    expected = "\x00" + "".join(f" {f} \x00" if f else " \x00" for f in folds)
    assert fold_batch(texts) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=20), min_size=1, max_size=6))
def test_ascii_batch_fold_equals_per_text_folds(texts: list[str]) -> None:
    """The bytes-level ASCII batch fold gives the same string as the Unicode batch fold."""
    clean = [t.replace("\x00", " ") for t in texts]
    assert fold_ascii_batch(clean) == fold_batch(clean).encode()


_LATIN_ACCENTED = st.text(
    alphabet=st.characters(max_codepoint=0x24F) | st.sampled_from("ＡＢｃ１\u0301\u00a8ﬁ"), max_size=20
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LATIN_ACCENTED, max_size=6))
def test_simple_batch_fold_equals_unicode_batch_fold(texts: list[str]) -> None:
    """Texts that pass is_simple fold the same on the accent-dropping fast path as on the full path."""
    simple = [t for t in texts if is_simple(t) and "\x00" not in t] or ["x"]
    assert fold_simple_batch(simple) == fold_batch(simple).encode()


def test_simple_texts_are_latin_with_accents_only() -> None:
    """Accented Latin and full-width forms are simple; stroke letters, Cyrillic, CJK, invisibles are not."""
    assert is_simple("Müller Société Ａｃｍｅ")
    for text in ("Łukasz", "Сбербанк", "字节跳动", "By\u200bte", "Tеncent"):
        assert not is_simple(text)


def _latinize_word_by_word(text: str) -> str:
    """The rule read literally: split into words, rewrite each Latin-like word with a look-alike and a
    Latin letter (a word made only of look-alikes is left to the readings)."""
    out, word = [], ""
    for ch in [*text, " "]:
        if ch.isalnum() or unicodedata.category(ch) in ("Mn", "Me", "Cf") or ch == "\u0640":
            word += ch
            continue
        latin_like = all(
            c in CONFUSABLES
            or (c.isascii() and c.isalnum())
            or unicodedata.category(c) in ("Mn", "Me", "Cf")
            or c == "\u0640"
            or ("\u00c0" <= c <= "\u024f" and c not in "\u00d7\u00f7")
            or "\u1e00" <= c <= "\u1eff"
            for c in word
        )
        has_latin = any(
            (c.isascii() and c.isalpha())
            or ("\u00c0" <= c <= "\u024f" and c not in "\u00d7\u00f7")
            or "\u1e00" <= c <= "\u1eff"
            for c in word
        )
        if any(c in CONFUSABLES for c in word) and latin_like and has_latin:
            word = "".join(CONFUSABLES.get(c, c) for c in word)
        out.append(word + ch)
        word = ""
    return "".join(out)[:-1]


_LOOKALIKE_ALPHABET = st.sampled_from(
    [*"aZx1 -.'_ÀéłæСсаеорхАЕОРНКМТіјνοΑΗиыяЖ中ʜᴀꜱօкв٥ʤ", "\u0301", "\u200b", "\U00010282", "😀"]
)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_LOOKALIKE_ALPHABET, max_size=16))
def test_latinize_rewrites_exactly_the_words_the_rule_names(text: str) -> None:
    """Look-alikes are rewritten in each Latin-like word with one and a Latin letter, and nowhere else."""
    assert latinize(text) == _latinize_word_by_word(text)
