"""Recall on real list names: every spelling variant the policy names is blocked (sampled, fixed seed)."""

from __future__ import annotations

import random
from collections.abc import Callable

import orjson
import pytest

from matchers.automaton import NameAutomaton
from matchers.policy import MatchRule, match_rule
from matchers.screening import check_text, screen_batch
from matchers.watchlist import EntityType, NameStrength, Watchlist

_LOOKALIKES = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "A": "А", "E": "Е", "O": "О",
               "P": "Р", "C": "С", "X": "Х"}  # fmt: skip
_ACCENTS = {
    "a": "á",
    "e": "é",
    "i": "í",
    "o": "ó",
    "u": "ü",
    "A": "Á",
    "E": "É",
    "I": "Í",
    "O": "Ó",
    "U": "Ü",
}
_INVISIBLES = ["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad"]


def _every_other(name: str, table: dict[str, str]) -> str:
    out, flip = [], False
    for char in name:
        if char in table:
            flip = not flip
            out.append(table[char] if flip else char)
        else:
            out.append(char)
    return "".join(out)


def _invisible(name: str) -> str:
    return "".join(c + _INVISIBLES[i % 5] if c.isalpha() and i % 3 == 1 else c for i, c in enumerate(name))


def _surname_last(name: str) -> str:
    last, given = name.split(",", 1)
    return f"{given.strip()} {last.strip()}"


VARIANTS: dict[str, Callable[[str], str]] = {
    "lower case": str.lower,
    "title case": str.title,
    "accents added": lambda n: _every_other(n, _ACCENTS),
    "Cyrillic look-alikes": lambda n: _every_other(n, _LOOKALIKES),
    "invisible characters": _invisible,
    "full-width letters": lambda n: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in n),
    "punctuation joined": lambda n: n.replace("-", "").replace("'", ""),
    "punctuation split": lambda n: n.replace("-", " ").replace("'", " "),
    "extra spaces and commas": lambda n: "  " + n.replace(" ", "   ") + " ,",
    "surname last": _surname_last,
}


def _applies(variant: str, name: str, entity_type: EntityType) -> bool:
    if variant == "surname last":
        return entity_type is EntityType.INDIVIDUAL and "," in name
    if variant.startswith("punctuation"):
        return "-" in name or "'" in name
    return True


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_recall_on_real_names(
    default_lists: tuple[Watchlist, ...], default_automaton: NameAutomaton, variant: str
) -> None:
    """At least 99.5% of sampled strong OFAC/UN names, respelled this way, block the event carrying them."""
    rng = random.Random(variant)
    names = [
        (entity, name)
        for wl in default_lists
        if wl.list_id != "us-eo-2020"
        for entity in wl.entities
        for name in entity.names
        if name.strength is NameStrength.STRONG and _applies(variant, name.text, entity.type)
    ]
    sample = rng.sample(names, min(600, len(names)))
    raws = []
    for i, (entity, name) in enumerate(sample):
        text = VARIANTS[variant](name.text)
        whole = match_rule(name, entity.type) is MatchRule.WHOLE_FIELD
        creditor, remittance = (
            (text, "Invoice 7") if whole or i % 2 else ("Acme GmbH", f"payment to {text} thanks")
        )
        raws.append(orjson.dumps({
            "id": str(i), "created_at": "2020-10-01T00:00:00Z", "amount": "1", "currency": "EUR",
            "debtor": {"name": "Jane Roe"}, "creditor": {"name": creditor}, "remittance": remittance,
        }))  # fmt: skip
    result = screen_batch(raws, default_automaton)
    found = sum(any(h.entity_id == e.id for h in result.hits.get(i, [])) for i, (e, _) in enumerate(sample))
    assert found / len(sample) >= 0.995, f"{variant}: {found} of {len(sample)}"


@pytest.mark.parametrize(
    ("text", "entity_id"),
    [
        ("LOT 3А ОF DETЕ VАLLЕY FARM", "ofac-sdn:8177"),  # look-alikes after digits
        ("JAMAAT ALDAWA ALALQURAN WALSUNNA", "ofac-sdn:19949"),  # every mark of a long name dropped
        ("JAMA'AT AL DA'WA ALA L QURAN WA L SUNNA", "ofac-sdn:19949"),  # hyphens split, apostrophes kept
    ],
)
def test_hard_respellings_of_real_names(default_automaton: NameAutomaton, text: str, entity_id: str) -> None:
    """Look-alikes next to digits and names with several kinds of marks still match."""
    assert entity_id in {h.entity_id for h in check_text(text, default_automaton, field_name="creditor.name")}
