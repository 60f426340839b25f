"""Realistic synthetic payment events for the demo, the load generator, the benchmarks and tests.

Multilingual person, company and bank names (the tables in ``names.json`` beside this module),
IBAN-like accounts and remittance texts, shaped like production traffic (about 500 bytes an event,
most without a listed name). A share of
events carry a listed name taken from the loaded watchlists, written in one of the variants the
matching policy covers (case, accents, look-alike letters, invisible characters, full-width
forms, joined or split punctuation, legal-form spelling, surname order); a share are malformed.
Deterministic for a given seed.
"""

from __future__ import annotations

import random
import string
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import orjson

from matchers.normalize import fold
from matchers.policy import MatchRule, match_rule, name_forms
from matchers.watchlist import EntityType, ListedName, NameStrength, Watchlist

#: The name tables, in ``names.json`` beside this module: first and last names per locale, the romanized
#: names of locales in other scripts, company stems, kinds and legal forms, CJK company names, banks.
_NAMES = orjson.loads((Path(__file__).resolve().parent / "names.json").read_bytes())
_FIRST: dict[str, list[str]] = _NAMES["first"]
_LAST: dict[str, list[str]] = _NAMES["last"]
_ROMANIZED: dict[str, tuple[list[str], list[str]]] = {
    locale: (names["first"], names["last"]) for locale, names in _NAMES["romanized"].items()
}
_COMPANY_STEMS: list[str] = _NAMES["company_stems"]
_COMPANY_KINDS: list[str] = _NAMES["company_kinds"]
_LEGAL: list[str] = _NAMES["legal_forms"]
_CJK_COMPANIES: list[str] = _NAMES["cjk_companies"]
_BANKS: list[tuple[str, str]] = [(bank["bic"], bank["name"]) for bank in _NAMES["banks"]]
#: The multilingual profile's tables, in ``scripts.json`` beside this module: names, companies and
#: remittance templates in ten non-Latin scripts, and accented Latin ones.
_SCRIPTS = orjson.loads((Path(__file__).resolve().parent / "scripts.json").read_bytes())


@dataclass(frozen=True, slots=True)
class ScriptNames:
    """One script's table: names (``order``: "first last", "last first" or "last+first", no space),
    company names and remittance templates."""

    first: list[str]
    last: list[str]
    order: str
    companies: list[str]
    remittance: list[str]


_BY_SCRIPT = {script: ScriptNames(**table) for script, table in _SCRIPTS["scripts"].items()}
_SCRIPT_NAMES: tuple[str, ...] = tuple(_BY_SCRIPT)
_ACCENTED = ScriptNames(order="first last", **_SCRIPTS["latin"])
#: Share of party names and remittance texts in a non-Latin script in the multilingual profile.
NON_LATIN_SHARE = 0.4


class TrafficProfile(StrEnum):
    """The mix of scripts in generated traffic (``txscreen loadgen --profile``)."""

    #: Mostly ASCII: names transliterated as payment rails carry them, a few in their own script.
    LATIN = "latin"
    #: About 40% of party and remittance texts in Cyrillic, Greek, Arabic, Persian, Hebrew, Han,
    #: Kana, Hangul, Devanagari or Thai; the rest Latin with accents.
    MULTILINGUAL = "multilingual"


_LOCALE_WEIGHTS = {
    "en": 34,
    "de": 10,
    "fr": 8,
    "es": 12,
    "pl": 4,
    "ru": 4,
    "zh": 8,
    "ja": 3,
    "ko": 2,
    "ar": 7,
    "in": 8,
}
#: Payment rails mostly carry names transliterated to ASCII (SWIFT MT and SEPA restrict the character set);
#: this share of names in other scripts or with accents keeps its native spelling.
NATIVE_SPELLING_SHARE = 0.3
_COUNTRIES = [
    "DE",
    "FR",
    "ES",
    "GB",
    "US",
    "CN",
    "JP",
    "KR",
    "IN",
    "PL",
    "CH",
    "NL",
    "FI",
    "AE",
    "EG",
    "IT",
    "BR",
    "MX",
    "CA",
    "AU",
    "SG",
    "TR",
    "ZA",
]
_CURRENCIES = ["EUR", "USD", "GBP", "CNY", "JPY", "CHF", "INR", "PLN", "KRW", "AED"]
_REMITTANCE = [
    "Invoice {n} payment for electronic components, order {m}",
    "Rechnung {n} vom {d}, Kundennummer {m}",
    "Facture {n} - prestation de conseil, réf. {m}",
    "Pago factura {n}, pedido {m}",
    "Salary {d} employee {m}",
    "Rent for apartment {m}, period {d}",
    "货款 发票号 {n} 合同 {m}",
    "請求書 {n} のお支払い",
    "Оплата по счету {n} от {d}",
    "Refund of overpayment, ticket {m}",
    "Freight charges container MSKU{m}",
    "Subscription renewal {d}, customer {m}",
    "Tuition fees semester {d}, student {m}",
    "Consulting services Q{q} {y}, contract {n}",
]
_MALFORMED = [
    b'{"id": "broken-1", "created_at": "2020-10-01T10:00:00Z", "amount": "12.00"',  # truncated JSON
    b"this is not json at all",
    b'["an", "array", "not", "an", "object"]',
    b'{"id": "", "created_at": "2020-10-01T10:00:00Z", "amount": "1.00", "currency": "EUR",'
    b' "debtor": {"name": "A"}, "creditor": {"name": "B"}}',  # empty id
    b'{"id": "x-1", "created_at": "2020-10-01", "amount": "1.00", "currency": "EUR",'
    b' "debtor": {"name": "A"}, "creditor": {"name": "B"}}',  # date without time and offset
    b'{"id": "x-2", "created_at": "2020-10-01T10:00:00Z", "amount": "1,00", "currency": "EUR",'
    b' "debtor": {"name": "A"}, "creditor": {"name": "B"}}',  # amount with a comma
    b'{"id": "x-3", "created_at": "2020-10-01T10:00:00Z", "amount": "1.00", "currency": "eur",'
    b' "debtor": {"name": "A"}, "creditor": {"name": "B"}}',  # lower-case currency
    b'{"id": "x-4", "created_at": "2020-10-01T10:00:00Z", "amount": "1.00", "currency": "EUR",'
    b' "debtor": {"name": "A"}}',  # no creditor
    b'{"id": "x-5", "created_at": "2020-10-01T10:00:00Z", "amount": "1.00", "currency": "EUR",'
    b' "debtor": {"name": "\xff\xfe"}, "creditor": {"name": "B"}}',  # not UTF-8
]


def _ascii(text: str) -> str:
    """A name as a payment rail transliterates it: accents dropped, stroke letters plain."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ł", "l").replace("Ł", "L").replace("ß", "ss"))
    return decomposed.encode("ascii", "ignore").decode("ascii")


@dataclass(frozen=True, slots=True)
class ListedSample:
    """A listed name ready to plant: the entity, the name as written and where it may be placed."""

    entity_id: str
    text: str
    entity_type: EntityType
    whole_field_only: bool
    cjk: bool


def listed_samples(watchlists: Sequence[Watchlist]) -> list[ListedSample]:
    """Strong names of the loaded lists that a planted event can carry (without date limits)."""
    out: list[ListedSample] = []
    for wl in watchlists:
        for entity in wl.entities:
            for name in entity.names:
                if name.strength is NameStrength.WEAK:
                    continue
                rule = match_rule(name, entity.type)
                cjk = any("\u3040" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af" for c in name.text)
                out.append(
                    ListedSample(entity.id, name.text, entity.type, rule is MatchRule.WHOLE_FIELD, cjk)
                )
    return out


_CONFUSABLE_OUT = {
    "a": "а",
    "e": "е",
    "o": "о",
    "p": "р",
    "c": "с",
    "x": "х",
    "A": "А",
    "E": "Е",
    "O": "О",
    "P": "Р",
    "C": "С",
    "X": "Х",
    "H": "Н",
    "K": "К",
    "M": "М",
    "T": "Т",
    "B": "В",
}
_ACCENT = {
    "a": "á",
    "e": "é",
    "i": "í",
    "o": "ö",
    "u": "ü",
    "n": "ñ",
    "c": "ç",
    "A": "Á",
    "E": "É",
    "O": "Ö",
    "U": "Ü",
}


def _lower(name: str, rng: random.Random) -> str:
    return name.lower()


def _title(name: str, rng: random.Random) -> str:
    return name.title()


def _lookalike(name: str, rng: random.Random) -> str:
    """One Cyrillic look-alike letter inside a Latin word."""
    idx = [i for i, c in enumerate(name) if c in _CONFUSABLE_OUT]
    if not idx:
        return name
    i = rng.choice(idx)
    return name[:i] + _CONFUSABLE_OUT[name[i]] + name[i + 1 :]


def _invisible(name: str, rng: random.Random) -> str:
    """A zero-width character inside a word."""
    idx = [i for i in range(1, len(name)) if name[i - 1].isalpha() and name[i].isalpha()]
    if not idx:
        return name
    i = rng.choice(idx)
    return name[:i] + rng.choice(["\u200b", "\u00ad", "\u200d", "\u2060"]) + name[i:]


def _accents(name: str, rng: random.Random) -> str:
    return "".join(_ACCENT.get(c, c) if rng.random() < 0.3 else c for c in name)


def _full_width(name: str, rng: random.Random) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)


def _surname_last(name: str, rng: random.Random) -> str:
    if "," not in name:
        return name
    last, given = name.split(",", 1)
    return f"{given.strip()} {last.strip()}"


def _joined(name: str, rng: random.Random) -> str:
    return name.replace("-", "")


def _spaced(name: str, rng: random.Random) -> str:
    return "  " + name.replace(" ", "  ") + "."


def _as_listed(name: str, rng: random.Random) -> str:
    return name


_VARIANTS = (
    _lower,
    _title,
    _lookalike,
    _invisible,
    _accents,
    _full_width,
    _surname_last,
    _joined,
    _spaced,
    _as_listed,
)


def spell_variant(name: str, rng: random.Random, entity_type: EntityType) -> str:
    """``name`` in one spelling the policy must still match (rules a, b, c)."""
    variant = rng.choice(_VARIANTS)
    if variant is _surname_last and entity_type is not EntityType.INDIVIDUAL:
        return name
    return variant(name, rng)


class EventFactory:
    """Makes payment events; ``listed_share`` carry a listed name, ``malformed_share`` are broken."""

    def __init__(
        self,
        watchlists: Sequence[Watchlist] = (),
        *,
        seed: int = 42,
        listed_share: float = 0.01,
        malformed_share: float = 0.0,
        start: datetime | None = None,
        profile: TrafficProfile = TrafficProfile.LATIN,
    ) -> None:
        self.rng = random.Random(seed)
        self.profile = profile
        self.samples = listed_samples(watchlists)
        self.listed_share = listed_share if self.samples else 0.0
        self.malformed_share = malformed_share
        self.start = start or datetime(2020, 10, 1, 8, 0, tzinfo=UTC)
        self.count = 0
        self.planted: dict[str, str] = {}  # event id -> entity id, for events that carry a listed name
        self._forms = {
            form
            for sample in self.samples
            for form in name_forms(ListedName(sample.text), sample.entity_type).forms
        }
        self._collisions: dict[str, bool] = {}
        locales, weights = zip(*_LOCALE_WEIGHTS.items(), strict=True)
        self._locales: tuple[str, ...] = locales
        self._weights: tuple[int, ...] = weights

    def _collides(self, name: str) -> bool:
        """True when a run of whole words of ``name`` is a listed name form (cached per name)."""
        hit = self._collisions.get(name)
        if hit is None:
            words = fold(name).split(" ")
            hit = any(
                " ".join(words[i:j]) in self._forms
                for i in range(len(words))
                for j in range(i + 1, min(len(words), i + 8) + 1)
            )
            self._collisions[name] = hit
        return hit

    def _script(self) -> ScriptNames:
        """In the multilingual profile, a non-Latin script's table at :data:`NON_LATIN_SHARE`, else Latin."""
        if self.rng.random() < NON_LATIN_SHARE:
            return _BY_SCRIPT[self.rng.choice(_SCRIPT_NAMES)]
        return _ACCENTED

    def _multilingual_person(self) -> str:
        table = self._script()
        first, last = self.rng.choice(table.first), self.rng.choice(table.last)
        if table.order == "last+first":
            return f"{last}{first}"
        return f"{last} {first}" if table.order == "last first" else f"{first} {last}"

    def _person(self) -> str:
        if self.profile is TrafficProfile.MULTILINGUAL:
            return self._multilingual_person()
        loc = self.rng.choices(self._locales, self._weights)[0]
        native = self.rng.random() < NATIVE_SPELLING_SHARE
        if not native and loc in _ROMANIZED:
            firsts, lasts = _ROMANIZED[loc]
            return f"{self.rng.choice(firsts)} {self.rng.choice(lasts)}"
        first, last = self.rng.choice(_FIRST[loc]), self.rng.choice(_LAST[loc])
        if not native:
            first, last = _ascii(first), _ascii(last)
        if loc in ("zh", "ko"):
            return last + first
        if loc == "ja":
            return f"{last} {first}"
        if self.rng.random() < 0.15:
            return f"{last.upper()}, {first}"
        return f"{first} {last}"

    def _company(self) -> str:
        if self.profile is TrafficProfile.MULTILINGUAL:
            return self.rng.choice(self._script().companies)
        if self.rng.random() < 0.08 * NATIVE_SPELLING_SHARE:
            return self.rng.choice(_CJK_COMPANIES)
        return (
            f"{self.rng.choice(_COMPANY_STEMS)} {self.rng.choice(_COMPANY_KINDS)} {self.rng.choice(_LEGAL)}"
        )

    def _party(self) -> dict[str, object]:
        bic, bank = self.rng.choice(_BANKS)
        country = self.rng.choice(_COUNTRIES)
        digits = "".join(self.rng.choices(string.digits, k=18))
        name = self._person() if self.rng.random() < 0.55 else self._company()
        while self._collides(name):  # keep clean traffic clean: skip pool names that are listed
            name = self._person() if self.rng.random() < 0.55 else self._company()
        return {
            "name": name,
            "account": f"{bic[4:6]}{self.rng.randint(10, 99)}{digits}",
            "address": f"{self.rng.randint(1, 250)} {self.rng.choice(_COMPANY_STEMS)} Street, {country}",
            "country": country,
            "agent": {"bic": bic, "name": bank},
        }

    def _remittance(self) -> str:
        if self.profile is TrafficProfile.MULTILINGUAL:
            tpl = self.rng.choice(self._script().remittance)
        else:
            tpl = self.rng.choice(_REMITTANCE)
            if not tpl.isascii() and self.rng.random() > NATIVE_SPELLING_SHARE:
                tpl = self.rng.choice(_REMITTANCE[:1] + _REMITTANCE[9:])
        return tpl.format(
            n=self.rng.randint(10000, 99999),
            m=self.rng.randint(100000, 999999),
            d=f"{self.rng.randint(1, 28):02d}.{self.rng.randint(1, 12):02d}.2020",
            q=self.rng.randint(1, 4),
            y=2020,
        )

    def event(self) -> dict[str, object]:
        """One well-formed event (possibly carrying a listed name)."""
        self.count += 1
        event_id = f"pay-{self.count:010d}"
        created = self.start + timedelta(seconds=self.count * 7 % 86400, days=self.count % 200)
        event: dict[str, object] = {
            "id": event_id,
            "created_at": created.isoformat().replace("+00:00", "Z"),
            "amount": f"{self.rng.randint(1, 250000)}.{self.rng.randint(0, 99):02d}",
            "currency": self.rng.choice(_CURRENCIES),
            "debtor": self._party(),
            "creditor": self._party(),
            "remittance": self._remittance(),
            "channel": self.rng.choice(["swift", "sepa", "ach", "fps", "cips"]),
            "purpose": self.rng.choice(["GDDS", "SUPP", "SALA", "RENT", "TRAD", "SCVE"]),
        }
        if self.samples and self.rng.random() < self.listed_share:
            sample = self.rng.choice(self.samples)
            text = sample.text if sample.cjk else spell_variant(sample.text, self.rng, sample.entity_type)
            where = "creditor" if sample.whole_field_only or self.rng.random() < 0.6 else "remittance"
            if where == "creditor":
                event["creditor"]["name"] = text  # type: ignore[index]
            else:
                event["remittance"] = f"{self._remittance()} / beneficiary {text}"
            self.planted[event_id] = sample.entity_id
        return event

    def raw(self) -> bytes:
        """One event as bytes: usually a JSON object, a malformed input at ``malformed_share``."""
        if self.malformed_share and self.rng.random() < self.malformed_share:
            self.count += 1
            return self.rng.choice(_MALFORMED)
        return orjson.dumps(self.event())

    def stream(self, count: int) -> Iterator[bytes]:
        """``count`` raw events."""
        for _ in range(count):
            yield self.raw()
