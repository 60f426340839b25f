"""The fast screening core finds exactly what the slow reference matcher finds."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matchers.automaton import NameAutomaton
from matchers.reference import HitKey, reference_hits
from matchers.screening import screen_batch
from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist
from schemas.events import SCREENED_FIELDS

_WORDS = [
    # Long words: names of 9 letters or more are in the fuzzy tier.
    "quartermaine",
    "quartermane",
    "holdings",
    "orbital",
    "al",
    "qaida",
    "al-qaida",
    "o'brien",
    "obrien",
    "banco",
    "nacional",
    "cuba",
    "ltd",
    "limited",
    "co",
    "company",
    "tik",
    "tok",
    "tiktok",
    "字节",
    "跳动",
    "字节跳动",
    "微信",
    "hamas",
    "hamasaki",
    "snow",
    "fsb",
    "ТІКТОК",
    "tеncent",
    "ＡＣＭＥ",
    "acme",
    "bin",
    "ladin",
    "usama",
    "müller",
    "muller",
    "łódź",
    "lodz",
    "김정은",
    # Disguises (issue 7): small capitals, a look-alike of another script, letters apart, inner marks.
    "ʜᴀᴍᴀꜱ",
    "bancօ",
    "h",
    "a",
    "m",
    "s",
    "h.a.m.a.s",
    "ha-mas",
    "e-mail",
    # Words made only of look-alikes (read as Latin in a reading), and Cyrillic names in either case.
    "намаѕ",
    "ᎻᎪᎷᎪᏚ",
    "москва",
    "МОСКВА",
    "ʤᴀᴍ",
    "ёж",
    # Vowel signs are part of Indic and Thai names (issue 10): names differing only in one differ.
    "मोहन",
    "मेहन",
    "कि\u0301",
    "ใจดี",
    "ใจดิ",
    "عَلِي",
    "علي",
]
# Ignorables (controls, fillers, selectors, tags) stand between words as well as separators do.
_SEPARATORS = [
    *[" ", "  ", "-", ", ", ".", "\u200b", "\t", "/", "'", ""],
    *["\x01", "\x7f", "\u3164", "\u2800", "\ufe0f", "\U000e0020", " . "],
]

_word = st.sampled_from(_WORDS)
_text = st.lists(st.tuples(_word, st.sampled_from(_SEPARATORS)), max_size=6).map(
    lambda parts: "".join(w + s for w, s in parts)
)
_name = st.lists(st.tuples(_word, st.sampled_from([" ", "-", "'", ", "])), min_size=1, max_size=4).map(
    lambda parts: "".join(w + s for w, s in parts).strip(" ,") or "acme"
)
_DAYS = [None, datetime(2020, 9, 20, tzinfo=UTC), datetime(2021, 6, 9, tzinfo=UTC)]


@st.composite
def _watchlist(draw: st.DrawFn) -> Watchlist:
    entities = []
    for i in range(draw(st.integers(1, 5))):
        names = tuple(
            ListedName(draw(_name), draw(st.sampled_from(list(NameStrength))))
            for _ in range(draw(st.integers(1, 3)))
        )
        start, until = draw(st.sampled_from(_DAYS[:2])), draw(st.sampled_from([None, _DAYS[2]]))
        entities.append(
            Entity(f"t:{i}", "t", draw(st.sampled_from(list(EntityType))), names, ("P",), start, until)
        )
    return Watchlist.build("t", "test", entities)


_created = st.sampled_from(["2020-08-10T00:00:00Z", "2020-10-01T00:00:00Z", "2021-07-01T00:00:00Z"])
_screened = st.sampled_from(
    [datetime(2020, 8, 11, tzinfo=UTC), datetime(2020, 10, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)]
)


def _field_text(data: st.DataObject, watchlist: Watchlist) -> str:
    """Random text, often with a listed name planted in it (respelled: case, separators, padding)."""
    text = data.draw(_text)
    if data.draw(st.booleans()):
        entity = data.draw(st.sampled_from(watchlist.entities))
        name = data.draw(st.sampled_from(entity.names)).text
        cut = data.draw(st.integers(0, max(0, len(name) - 2)))
        words = name.split(" ")
        name = data.draw(
            st.sampled_from(
                [
                    name,
                    name.upper(),
                    name.replace(" ", "  "),
                    name.replace("-", ""),
                    name[:cut] + name[cut + 1 :],  # typos: the fuzzy tier
                    name[:cut] + name[cut + 1 : cut + 2] + name[cut : cut + 1] + name[cut + 2 :],
                    name[:cut] + "x" + name[cut:],
                    " ".join(words[1:]) + ", " + words[0],  # REST, FIRST: comma inversion
                ]
            )
        )
        text = data.draw(st.sampled_from([name, f"{text} {name}", f"{name}, {text}", f"{text}{name}"]))
    return text


def _raw(fields: dict[str, str], created_at: str) -> bytes:
    return orjson.dumps(
        {
            "id": "e",
            "created_at": created_at,
            "amount": "1.00",
            "currency": "EUR",
            "debtor": {"name": fields["debtor.name"], "agent": {"name": fields["debtor.agent.name"]}},
            "creditor": {"name": fields["creditor.name"], "agent": {"name": fields["creditor.agent.name"]}},
            "remittance": fields["remittance"],
        }
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_watchlist(), st.data())
def test_core_and_reference_agree(watchlist: Watchlist, data: st.DataObject) -> None:
    """For random lists, events and screening times, screen_batch reports exactly the reference's hits."""
    automaton = NameAutomaton([watchlist])
    events = []
    for _ in range(data.draw(st.integers(1, 4))):
        fields = {field: _field_text(data, watchlist) for field in SCREENED_FIELDS}
        for party in ("debtor.name", "creditor.name"):
            if not fields[party].strip():
                fields[party] = "x"
        events.append((fields, data.draw(_created)))
    now = data.draw(_screened)
    result = screen_batch([_raw(fields, created) for fields, created in events], automaton, now)
    assert not result.errors
    entities = {entity.id: entity for entity in watchlist.entities}
    for i, (fields, created) in enumerate(events):
        at = datetime.fromisoformat(created.replace("Z", "+00:00"))
        expected = reference_hits(fields, [watchlist], at, now)
        got: set[HitKey] = {
            (h.entity_id, h.field, h.matched_name, h.start, h.end) for h in result.hits.get(i, [])
        }
        assert got == expected
        for h in result.hits.get(i, []):
            assert h.in_force_at == entities[h.entity_id].in_force_at(at, now)
