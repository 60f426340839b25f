"""Combining marks are diacritics only on Latin, Greek and Cyrillic letters (issue 10 §2).

Hebrew points and Arabic harakat are optional vocalization and are dropped too; in Devanagari, Thai and
the other scripts a mark is a vowel sign, part of the name, and is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from matchers.automaton import NameAutomaton
from matchers.normalize import fold, fold_batch, fold_with_spans, fold_with_spans_by_chunks
from matchers.policy import name_forms
from matchers.reference import reference_hits
from matchers.screening import screen_batch
from matchers.watchlist import Entity, EntityType, ListedName, Watchlist
from schemas.records import Verdict

_AT = datetime(2020, 10, 1, 12, tzinfo=UTC)

#: (listed name, the same name as an event writes it, a different name differing only in a vowel sign).
_VOWEL_SIGN_NAMES = [
    ("मोहन लाल", "मोहन लाल", "मेहन लाल"),  # Hindi: o-sign vs e-sign
    ("मोहन लाल", "मोहन लाल", "महन लाल"),  # Hindi: o-sign dropped
    ("สมชาย ใจดี", "สมชาย ใจดี", "สมชาย ใจดิ"),  # Thai: long i vs short i
    ("சுப்பிரமணியம் ராஜா", "சுப்பிரமணியம் ராஜா", "சுப்பரமணியம் ராஜா"),  # Tamil: i-sign dropped
    ("রবীন্দ্রনাথ ঠাকুর", "রবীন্দ্রনাথ ঠাকুর", "রবিন্দ্রনাথ ঠাকুর"),  # Bengali: long ii vs short i
]


def _list(name: str) -> Watchlist:
    return Watchlist.build(
        "t", "test", [Entity("t:1", "t", EntityType.INDIVIDUAL, (ListedName(name),), ("P",), None, None)]
    )


@pytest.mark.parametrize(("listed", "same", "other"), _VOWEL_SIGN_NAMES)
def test_a_name_with_vowel_signs_matches_itself_and_not_another_vowel(
    make_event: Callable[..., bytes], listed: str, same: str, other: str
) -> None:
    """A listed Indic or Thai name blocks when written as listed and clears when a vowel sign differs."""
    watchlist = _list(listed)
    automaton = NameAutomaton([watchlist])
    events = [
        make_event(creditor=same),
        make_event(remittance=f"payment to {same} thanks"),
        make_event(creditor=other),
        make_event(remittance=f"payment to {other} thanks"),
    ]
    result = screen_batch(events, automaton, _AT)
    assert result.verdicts == [Verdict.BLOCKED, Verdict.BLOCKED, Verdict.CLEARED, Verdict.CLEARED]


@pytest.mark.parametrize(("listed", "same", "other"), _VOWEL_SIGN_NAMES)
def test_the_reference_matcher_agrees_on_vowel_signs(listed: str, same: str, other: str) -> None:
    """The reference matcher finds the name written as listed and nothing in the other spelling."""
    watchlist = _list(listed)
    fields = {"creditor.name": same, "remittance": f"to {other}"}
    hits = reference_hits(fields, [watchlist], _AT)
    assert {(field, start, end) for _, field, _, start, end in hits} == {("creditor.name", 0, len(same))}


@pytest.mark.parametrize("listed", [names[0] for names in _VOWEL_SIGN_NAMES])
def test_name_forms_keep_every_vowel_sign(listed: str) -> None:
    """The joined-form variants of a name only drop punctuation, never a combining vowel sign."""
    forms = name_forms(ListedName(listed), EntityType.INDIVIDUAL).forms
    signs = sorted(c for c in listed if c not in " " and not c.isalnum())
    assert signs
    for form in forms:
        assert sorted(c for c in form if c not in " " and not c.isalnum()) == signs


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Müller Ñandú", "muller nandu"),  # Latin
        ("Ἀθῆναι Παπαδόπουλος", "αθηναι παπαδοπουλοσ"),  # Greek; final sigma folds to σ
        ("Ёлкин Йо́сиф", "елкин иосиф"),  # Cyrillic: breve and diaeresis, stress accent
        ("מֹשֶׁה כֹּהֵן", "משה כהן"),  # Hebrew points
        ("مُحَمَّد عَلِي", "محمد علي"),  # Arabic harakat
        ("x \u0301y \u0308", "x y"),  # a generic mark with no letter under it
        ("कि\u0301", "कि\u0301"),  # a generic mark on a Devanagari letter stays
        ("ก\u0301ข", "ก\u0301ข"),  # and on a Thai letter
        ("が", "か\u3099"),  # Kana voicing is part of the letter
    ],
)
def test_fold_drops_marks_by_base_script(text: str, folded: str) -> None:
    """fold drops marks on Latin, Greek, Cyrillic, Hebrew and Arabic letters and keeps them elsewhere."""
    assert fold(text) == folded
    assert fold_with_spans(text)[0] == folded
    assert fold_with_spans_by_chunks(text)[0] == folded
    assert fold_batch([text, "Ab", text]) == f"\x00 {folded} \x00 ab \x00 {folded} \x00".replace("  ", " ")
