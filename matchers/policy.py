"""The matching policy: which searchable forms a listed name has, and where each may match.

Policy rules (the README's "Matching policy" section is the contract; letters refer to it), in the
order the code applies them: :func:`name_forms` takes each written order (c), then each joined form
of it and of its camel-case split (a), then each legal-form spelling of that (b); then the rule of
where the forms may match (e), and at screening time which of an entity's names a hit reports (g).

c. Individuals match in either order: ``LAST, First Middle`` also reads ``First Middle Last``;
   a name written without a comma also reads with its last word first (:func:`orders`).
a. (joined form) A word with punctuation inside (``AL-QAIDA``, ``O'BRIEN``) also matches with
   the pieces run together (``ALQAIDA``, ``OBRIEN``) as well as apart (``AL QAIDA``)
   (:func:`joined_variants`).
   A word written in camel case (``TikTok``, ``WeChat``, ``McDonald``) also matches with its
   pieces apart (``Tik Tok``) (:func:`camel_split`).
b. Legal-form words are equivalent (Ltd = Limited, Co = Company, …): every form of a name
   is generated with each equivalent spelling (:data:`LEGAL_FORMS`, :func:`legal_variants`).
e. Where a name may match: :func:`match_rule`.
g. Which name a hit reports: :func:`hit_rank`.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Final

from matchers.normalize import fold, has_cjk, is_cjk
from matchers.watchlist import EntityType, ListedName, NameStrength


class MatchRule(StrEnum):
    """Where in an event a name may match."""

    ANYWHERE = "anywhere"  # whole words (substrings for CJK) in any screened field
    WHOLE_FIELD = "whole-field"  # only a whole party-name field equal to the name


class HitRule(StrEnum):
    """What a hit's ``rule`` says: the match rule of an exact hit, or how else the name was found."""

    ANYWHERE = "anywhere"  # an exact match of a name that matches anywhere
    WHOLE_FIELD = "whole-field"  # an exact match of a name that matches whole party fields only
    FUZZY = "fuzzy"  # the name within its edit budget (matchers.fuzzy), never exactly
    CORROBORATING = "corroborating"  # a weak alias of an entity hit otherwise in the same event


#: Equivalent spellings of legal-form words, as folded word sequences; the first is canonical.
LEGAL_FORMS: tuple[tuple[str, ...], ...] = (
    ("ltd", "limited"),
    ("co", "company"),
    ("corp", "corporation"),
    ("inc", "incorporated"),
    ("llc", "l l c", "limited liability company"),
    ("llp", "l l p", "limited liability partnership"),
    ("plc", "p l c", "public limited company"),
    ("jsc", "joint stock company"),
    ("ojsc", "open joint stock company"),
    ("cjsc", "closed joint stock company"),
    ("pjsc", "public joint stock company"),
    ("intl", "international"),
    ("bros", "brothers"),
    ("mfg", "manufacturing"),
    ("assn", "association"),
    ("pvt", "private"),
    ("gmbh", "gesellschaft mit beschrankter haftung"),
    ("ag", "aktiengesellschaft"),
    ("sa", "s a", "sociedad anonima", "societe anonyme"),
    ("sarl", "s a r l", "societe a responsabilite limitee"),
    ("srl", "s r l", "societa a responsabilita limitata"),
    ("spa", "s p a", "societa per azioni"),
    ("bv", "b v", "besloten vennootschap"),
    ("nv", "n v", "naamloze vennootschap"),
)

#: At most this many searchable forms per listed name (orders x joined forms x legal forms).
MAX_FORMS_PER_NAME = 64
#: Words with more punctuated pieces than this get only the fully split and fully joined forms.
MAX_PIECES_PER_WORD = 4
#: Names with more kinds of punctuation than this skip the one-form-per-subset-of-marks step.
MAX_MARK_KINDS = 4


@dataclass(frozen=True, slots=True)
class NameForms:
    """The searchable forms of one listed name and the rule that applies to all of them."""

    rule: MatchRule
    forms: frozenset[str]


def _composed(groups: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
    """Each group with the one-word legal forms inside its longer phrases spelled every way.

    Legal forms compose: ``joint stock company`` is also ``joint stock co``, ``limited liability
    company`` is also ``ltd liability co``, so ``PRIVATE JOINT STOCK Co.`` = ``PRIVATE JOINT STOCK
    COMPANY``. The written phrases keep their place; the composed ones follow.
    """
    one_word = {g[0]: g for g in groups if " " not in g[0]}
    swaps = {w: [p for p in g if " " not in p] for g in one_word.values() for w in g if " " not in w}
    out = []
    for group in groups:
        phrases: dict[str, None] = dict.fromkeys(group)
        for phrase in group:
            words = phrase.split(" ")
            if len(words) < 2 or all(len(w) == 1 for w in words):
                continue
            options = [swaps.get(w, [w]) for w in words]
            for combo in itertools.product(*options):
                phrases[" ".join(combo)] = None
        out.append(tuple(phrases))
    return tuple(out)


#: :data:`LEGAL_FORMS` composed (:func:`_composed`): the equivalences the matcher applies.
LEGAL_EQUIVALENTS: tuple[tuple[str, ...], ...] = _composed(LEGAL_FORMS)


def _legal_index() -> dict[tuple[str, ...], tuple[str, ...]]:
    index: dict[tuple[str, ...], tuple[str, ...]] = {}
    for group in LEGAL_EQUIVALENTS:
        for phrase in group:
            index[tuple(phrase.split(" "))] = group
    return index


_LEGAL_INDEX = _legal_index()
_LEGAL_FIRST_WORDS = frozenset(k[0] for k in _LEGAL_INDEX)
_LEGAL_MAX_WORDS = max(len(k) for k in _LEGAL_INDEX)


def legal_variants(folded: str) -> list[str]:
    """Every spelling of ``folded`` with each legal-form word sequence swapped for its equivalents."""
    words = folded.split(" ")
    if _LEGAL_FIRST_WORDS.isdisjoint(words):
        return [folded]
    pieces: list[tuple[str, ...]] = []
    i = 0
    while i < len(words):
        for size in range(min(_LEGAL_MAX_WORDS, len(words) - i), 0, -1):
            group = _LEGAL_INDEX.get(tuple(words[i : i + size]))
            if group is not None:
                pieces.append(group)
                i += size
                break
        else:
            pieces.append((words[i],))
            i += 1
    out: list[str] = []
    for combo in itertools.product(*pieces):
        out.append(" ".join(combo))
        if len(out) >= MAX_FORMS_PER_NAME:
            break
    return out


def orders(text: str, entity_type: EntityType) -> list[str]:
    """The written orders of a name: individuals also read surname-first or surname-last (rule c)."""
    if entity_type is not EntityType.INDIVIDUAL:
        return [text]
    if "," in text:
        last, given = (p.strip() for p in text.split(",", 1))
        if last and given:
            return [f"{last} {given}", f"{given} {last}"]
        return [last or given]
    words = text.split()
    if len(words) < 2:
        return [text]
    return [text, " ".join([words[-1], *words[:-1]])]


def word_splits(folded_word: str) -> tuple[str, ...]:
    """A punctuated word's forms: each break between its pieces kept or closed (AL-QA'IDA: 4 forms)."""
    pieces = folded_word.split(" ")
    if len(pieces) == 1 or len(pieces) > MAX_PIECES_PER_WORD:
        return (folded_word, fold("".join(pieces))) if len(pieces) > 1 else (folded_word,)
    forms: dict[str, None] = {}
    for joins in itertools.product((" ", ""), repeat=len(pieces) - 1):
        forms[fold("".join(p + j for p, j in zip(pieces, (*joins, ""), strict=True)))] = None
    return tuple(forms)


def camel_split(text: str) -> str:
    """``text`` with a space at each change from a small to a capital letter inside a word, where both
    pieces have two letters or more (rule a): ``TikTok`` also reads ``Tik Tok``, ``ByteDance`` ``Byte Dance``,
    ``McDONALD`` ``Mc DONALD``; ``eBay`` and ``iPhone`` stay as they are. Combining marks belong to their
    letter. ``text`` itself when it has no such change."""
    if text.isascii() and not _ASCII_CAMEL.search(text):  # most names: no Python loop over the letters
        return text
    cuts: list[int] = []
    run, previous = 0, ""  # letters of the word since its start or the last cut, and the last letter
    for i, char in enumerate(text):
        if _is_mark(char):
            continue
        if not char.isalpha():
            run, previous = 0, ""
            continue
        if run >= 2 and previous.islower() and char.isupper() and _letters_from(text, i) >= 2:
            cuts.append(i)
            run = 0
        run += 1
        previous = char
    if not cuts:
        return text
    return " ".join(text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True))


#: Two letters, a small then a capital (ASCII): where an ASCII name may have a camel-case change.
_ASCII_CAMEL: Final = re.compile(r"[a-z][A-Z]")


def _letters_from(text: str, start: int) -> int:
    """Letters of the word of ``text`` from ``start`` on (marks skipped), counted up to 2."""
    count = 0
    for char in text[start:]:
        if char.isalpha():
            count += 1
            if count == 2:
                break
        elif not _is_mark(char):
            break
    return count


def joined_variants(text: str) -> list[str]:
    """Folded forms of ``text`` with punctuated words split and run together (rule a).

    First the forms a writer makes by treating one kind of mark the same way everywhere (every
    hyphen dropped, apostrophes kept as breaks, …: one form per subset of the marks in the name),
    then each word's own combinations, up to :data:`MAX_FORMS_PER_NAME`.
    """
    out: dict[str, None] = {}
    marks = _marks(text)
    if marks and len(marks) <= MAX_MARK_KINDS:
        for size in range(len(marks) + 1):
            for dropped in itertools.combinations(marks, size):
                out[" ".join(filter(None, map(_fold_word, _drop(text, dropped).split())))] = None
    # A folded word holds a space only where punctuation split it: only then has it several forms.
    options = [word_splits(f) if " " in f else (f,) for f in map(_fold_word, text.split()) if f]
    if all(len(o) == 1 for o in options):  # no punctuated word: one combination
        if len(out) < MAX_FORMS_PER_NAME:
            out[" ".join(o[0] for o in options)] = None
    else:
        for combo in itertools.product(*options):
            if len(out) >= MAX_FORMS_PER_NAME:
                break
            out[" ".join(combo)] = None
    # Words were folded one by one; only a CJK run split over written words needs folding again.
    return [v if v.isascii() or not has_cjk(v) else fold(v) for v in out if v]


#: ASCII characters that are letters, digits or white space (never a mark of :func:`_marks`).
_ASCII_WORD_OR_SPACE = frozenset(c for c in map(chr, range(128)) if c.isalnum() or c.isspace())


def _marks(text: str) -> list[str]:
    """The kinds of punctuation and symbols in ``text``, sorted (combining marks, such as Indic and Thai
    vowel signs, are part of their letter)."""
    if text.isascii():
        return sorted(set(text) - _ASCII_WORD_OR_SPACE)
    return sorted(c for c in set(text) if not c.isalnum() and not c.isspace() and not _is_mark(c))


def _is_mark(char: str) -> bool:
    return unicodedata.category(char)[0] == "M"


def _drop(text: str, marks: Sequence[str]) -> str:
    """``text`` with every one of ``marks`` removed (the pieces around each run together)."""
    for mark in marks:
        text = text.replace(mark, "")
    return text


@lru_cache(maxsize=200_000)
def _fold_word(word: str) -> str:
    """:func:`fold` of one written word (cached: list names share many words)."""
    return fold(word)


def letter_count(folded: str) -> int:
    """Letters and digits in a folded name (spaces do not count)."""
    return len(folded) - folded.count(" ")


def word_count(text: str) -> int:
    """Whitespace-separated words of a name as written that hold at least one letter or digit."""
    return sum(1 for raw in text.split() if _fold_word(raw))


def match_rule(name: ListedName, entity_type: EntityType, folded: str | None = None) -> MatchRule:
    """Rule e: where a listed name may match.

    Whole party-name field only: weak aliases, every vessel and aircraft name, names of four
    letters or fewer (acronyms such as FSB, PKK), single-word names of individuals, and
    Han/Kana/Hangul names of individuals or of one character. Everything else (multi-word
    names of any type, single-word entity names of five letters or more, CJK entity names of
    two characters or more) matches anywhere in any screened field.
    """
    if name.strength is NameStrength.WEAK or entity_type in (EntityType.VESSEL, EntityType.AIRCRAFT):
        return MatchRule.WHOLE_FIELD
    if folded is None:
        folded = fold(name.text)
    letters = letter_count(folded)
    if folded and all(is_cjk(c) for c in folded.replace(" ", "")):
        if entity_type is EntityType.INDIVIDUAL or letters < 2:
            return MatchRule.WHOLE_FIELD
        return MatchRule.ANYWHERE
    if letters <= 4:
        return MatchRule.WHOLE_FIELD
    if entity_type is EntityType.INDIVIDUAL and word_count(name.text) < 2:
        return MatchRule.WHOLE_FIELD
    return MatchRule.ANYWHERE


def name_forms(name: ListedName, entity_type: EntityType) -> NameForms:
    """All searchable (folded) forms of a listed name, with the rule that governs them."""
    forms: dict[str, None] = {}
    for written in orders(name.text, entity_type):
        for spelled in dict.fromkeys((written, camel_split(written))):
            for joined in joined_variants(spelled):
                for form in legal_variants(joined):
                    if form:
                        forms[form] = None
                    if len(forms) >= MAX_FORMS_PER_NAME:
                        break
    # Letters and scripts of the name, from its cached word folds (the same as fold(name.text) for both).
    folded = " ".join(filter(None, map(_fold_word, name.text.split())))
    return NameForms(match_rule(name, entity_type, folded), frozenset(forms))


def fuzzy_forms(name: ListedName, entity_type: EntityType) -> list[str]:
    """The folded forms of a listed name the fuzzy tier searches: each written order (rule c), its
    punctuation read as spaces. None for a weak alias, a name of four letters or fewer, a name with
    Han, Kana or Hangul, or a name that keeps combining marks once folded: in Devanagari, Bengali,
    Tamil, Thai and the other scripts whose marks are vowel signs, one mark is one edit that makes
    another name (``मोहन`` is not ``महन``), so those names match exactly only.
    (:func:`matchers.fuzzy.plan` then leaves names under 9 letters out.)"""
    if name.strength is NameStrength.WEAK:
        return []
    out: dict[str, None] = {}
    for written in orders(name.text, entity_type):
        folded = " ".join(filter(None, map(_fold_word, written.split())))
        if (
            folded
            and letter_count(folded) > 4
            and (folded.isascii() or (not has_cjk(folded) and not any(map(_is_mark, folded))))
        ):
            out[folded] = None
    return list(out)


#: A hit's strength for rule g (lower is stronger): see :func:`hit_rank`.
HitRank = tuple[int, int, int]


def hit_rank(name: ListedName, rule: MatchRule, names: Sequence[ListedName]) -> HitRank:
    """Rule g: which of an entity's names, found over the same span of one field, the hit reports.

    The strongest: a strong name before a weak alias, then a name that matches anywhere before one
    that matches whole fields only, then the name listed first (the primary name first). ``names``
    are the entity's names as listed.
    """
    return (name.strength is NameStrength.WEAK, rule is MatchRule.WHOLE_FIELD, names.index(name))


#: Where a hit is: entity id, field, start and end in the original field text.
HitSpan = tuple[str, str, int, int]


def settle(
    exact: Mapping[HitSpan, bool],
    fuzzy: Mapping[HitSpan, tuple[int, HitRank]],
    *,
    weak_alone: bool = False,
) -> dict[HitSpan, HitRule | None]:
    """Which of the spans found in one event are hits, and under which rule.

    ``exact``: each span an exact find collapsed to (rule g), and whether its strongest name is a weak
    alias. ``fuzzy``: each span the fuzzy tier found, with its distance and rank (the best of them).
    A strong exact span is a hit under its own rule (``None`` here). A fuzzy span is a ``fuzzy`` hit
    unless it overlaps a strong exact hit of the same entity in the same field, or a fuzzy hit of it
    there that is closer (then by rank and position). A weak alias never hits alone: its span is a
    ``corroborating`` hit when its entity has a strong or fuzzy hit in the event (or ``weak_alone``,
    for ``txscreen check``, which shows it as "corroborating only").
    """
    out: dict[HitSpan, HitRule | None] = {span: None for span, weak in exact.items() if not weak}
    taken: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for span in out:
        taken.setdefault(span[:2], []).append(span[2:])
    for span in sorted(fuzzy, key=lambda s: (fuzzy[s], s)):
        near = taken.setdefault(span[:2], [])
        if any(start < span[3] and span[2] < end for start, end in near):
            continue
        near.append(span[2:])
        out[span] = HitRule.FUZZY
    hit_entities = {span[0] for span in out}
    for span, weak in exact.items():
        if weak and span not in out and (weak_alone or span[0] in hit_entities):
            out[span] = HitRule.CORROBORATING
    return out
