"""Name and text normalization: the same fold for list names and for event text (policy rule a).

The fold, in order, each step one small function of the pipeline:

1. Unicode compatibility decomposition (NFKD): full-width letters, ligatures and
   superscripts become plain letters; accented letters become base letter + mark.
2. Look-alikes (every character that Unicode's confusables data, UTS #39, maps to Latin
   letters, from any script: Cyrillic а е о р с х …, Greek ο ν …, Armenian օ, Latin small
   capitals ʜ ᴀ ᴍ …; generated in :mod:`matchers.unicode_tables`) inside a word that also has
   Latin letters read as their Latin twins. A word with no Latin letter keeps its script, even one
   made only of look-alikes ("Москва", "ТІКТОК" typed in Cyrillic): list names are folded in their
   own script, so a Cyrillic or Greek name matches itself in any case.
3. Case folding (``str.casefold``: ß → ss).
4. One table: diacritic marks and invisible format characters (zero-width space/joiner/
   non-joiner, word joiner, soft hyphen, bidi marks) are dropped; punctuation, symbols,
   controls and spaces become a separator.
5. Separator runs collapse to one space, none at either end.
6. Han, Kana and Hangul: spaces between two such characters are dropped and a space is put
   between such a character and a letter of another script, so CJK names match as
   substrings and other names as whole words.

Event text is also screened in its other *readings* (:func:`readings`): with ignorable characters
(everything that renders as nothing: :func:`is_ignorable`) read as nothing and, apart, as a space;
with punctuation inside a word closed (``HA-MAS`` reads ``HAMAS``); with runs of three or more
single letters joined (``H.A.M.A.S.`` reads ``HAMAS.``); with every word made only of look-alikes
(the whole table, letters with diacritics on them too, digits allowed) read as its Latin twin
(``намаѕ`` and ``ʜᴀᴍᴀꜱ`` read ``HAMAS``; ``Москва`` reads ``Mockba``). Each reading is folded as above.

:func:`fold` is the fast path (a few C-level passes over the whole string; the screening
core calls it once per batch). :func:`fold_with_spans` is the slow, obviously-correct
twin that also maps every output character back to its span in the original text; it
is used for the few texts that hit, to report offsets. Tests check that both give the
same string.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from functools import cache

from matchers.backend import fold_ascii
from matchers.built_tables import table
from matchers.unicode_tables import IGNORABLE_RANGES, LATIN_CONFUSABLES

#: Combining marks that belong to one script's letters and are removed as diacritics wherever they
#: stand: the Cyrillic titlo, Hebrew points (niqqud) and Arabic harakat. Hebrew and Arabic write
#: vowels as optional points that names, lists and payment text almost always leave out, so a
#: vocalized and a bare spelling are one name. Other scripts' own marks (Indic and Thai vowel
#: signs, Kana voicing) are part of the letter and are kept.
_SCRIPT_DIACRITIC_RANGES = (
    (0x0483, 0x0489),  # Cyrillic titlo and friends
    (0x0591, 0x05BD),
    (0x05BF, 0x05BF),
    (0x05C1, 0x05C2),
    (0x05C4, 0x05C5),
    (0x05C7, 0x05C7),  # Hebrew points
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),  # Arabic harakat
    (0x06D6, 0x06DC),
    (0x06DF, 0x06E4),
    (0x06E7, 0x06E8),
    (0x06EA, 0x06ED),
)
#: Combining marks any script may carry (acute, diaeresis, ring…): removed as diacritics only where
#: their base letter is Latin, Greek or Cyrillic (or Hebrew or Arabic, whose marks are all optional
#: vocalization), or where they have no base letter at all; after a letter of another script
#: (Devanagari, Thai, …) a mark is part of the name and is kept (issue 10).
_GENERIC_DIACRITIC_RANGES = (
    (0x0300, 0x036F),  # combining diacritical marks
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
)
#: Every mark removed as a diacritic somewhere (the word classes of the readings count them as letters).
_DIACRITIC_RANGES = _GENERIC_DIACRITIC_RANGES[:1] + _SCRIPT_DIACRITIC_RANGES + _GENERIC_DIACRITIC_RANGES[1:]
#: Letters whose generic marks are diacritics: Latin (with IPA, modifier letters, phonetic extensions
#: and full-width forms), Greek, Cyrillic, Hebrew and Arabic blocks.
_DIACRITIC_BASE_RANGES = (
    (0x0041, 0x005A),
    (0x0061, 0x007A),
    (0x00AA, 0x00AA),
    (0x00B5, 0x00B5),
    (0x00BA, 0x00BA),
    (0x00C0, 0x02FF),
    (0x0370, 0x052F),  # Greek, Cyrillic
    (0x0590, 0x06FF),  # Hebrew, Arabic
    (0x0750, 0x077F),
    (0x0870, 0x08FF),
    (0x1C80, 0x1C8F),
    (0x1D00, 0x1DBF),
    (0x1E00, 0x1FFF),  # Latin Extended Additional, Greek Extended
    (0x2071, 0x2071),
    (0x207F, 0x207F),
    (0x2090, 0x209C),
    (0x2C60, 0x2C7F),
    (0x2DE0, 0x2DFF),
    (0xA640, 0xA69F),
    (0xA720, 0xA7FF),
    (0xAB30, 0xAB6F),
    (0xFB00, 0xFB06),
    (0xFB1D, 0xFDFF),
    (0xFE70, 0xFEFF),
    (0xFF21, 0xFF3A),
    (0xFF41, 0xFF5A),
)
#: Letters that only stretch or decorate text (Arabic tatweel) are dropped like marks.
_DROPPED_LETTERS = (0x0640,)
#: Latin letters whose diacritic is part of the glyph (stroke, ligature) and has no decomposition.
STROKE_LETTERS: dict[str, str] = {
    "ł": "l",
    "ø": "o",
    "đ": "d",
    "ħ": "h",
    "ŧ": "t",
    "æ": "ae",
    "œ": "oe",
    "ð": "d",
    "þ": "th",
    "ı": "i",
    "ĸ": "k",
    "ƀ": "b",
    "ɨ": "i",
    "ʉ": "u",
    "ƶ": "z",
    "ȼ": "c",
    "ɇ": "e",
    "ɍ": "r",
    "ɏ": "y",
}
#: Arabic-script letters written differently by region or keyboard that name the same sound: Persian
#: yeh and alef maksura read as Arabic yeh, keheh as kaf, teh marbuta as heh (as Arabic search does).
ARABIC_VARIANTS: dict[str, str] = {
    "\u06cc": "\u064a",
    "\u0649": "\u064a",
    "\u06a9": "\u0643",
    "\u0629": "\u0647",
}
#: Spacing modifier letters that work as apostrophes or primes (ʼ ʻ ʹ ʾ ʿ ˈ …) separate words.
_APOSTROPHE_LIKE = (0x02B9, 0x02FF)

#: Look-alikes chosen by hand before the generated table; they win where the data differs (``ӏ``
#: reads l, ``κ`` k) or add what it lacks (``Ԛ``, ``Һ``, ``χ``).
_HAND_CONFUSABLES: dict[str, str] = {
    # Cyrillic capitals and small letters
    "А": "A",
    "В": "B",
    "Е": "E",
    "К": "K",
    "М": "M",
    "Н": "H",
    "О": "O",
    "Р": "P",
    "С": "C",
    "Т": "T",
    "Х": "X",
    "У": "Y",
    "Ѕ": "S",
    "І": "I",
    "Ј": "J",
    "Ԛ": "Q",
    "Ԝ": "W",
    "Ү": "Y",
    "Һ": "H",
    "Ӏ": "I",
    "а": "a",
    "е": "e",
    "о": "o",
    "р": "p",
    "с": "c",
    "х": "x",
    "у": "y",
    "ѕ": "s",
    "і": "i",
    "ј": "j",
    "ԁ": "d",
    "ԛ": "q",
    "ԝ": "w",
    "һ": "h",
    "ӏ": "l",
    "ү": "y",
    # Greek capitals and small letters
    "Α": "A",
    "Β": "B",
    "Ε": "E",
    "Ζ": "Z",
    "Η": "H",
    "Ι": "I",
    "Κ": "K",
    "Μ": "M",
    "Ν": "N",
    "Ο": "O",
    "Ρ": "P",
    "Τ": "T",
    "Υ": "Y",
    "Χ": "X",
    "ο": "o",
    "α": "a",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ρ": "p",
    "υ": "u",
    "χ": "x",
    "ϲ": "c",
    "ϳ": "j",
}
#: Latin twins of look-alike characters from any script: every character that Unicode's confusables
#: data (UTS #39) maps to Latin letters (generated, :mod:`matchers.unicode_tables`), plus the hand
#: picks above. Applied after NFKD and before case folding, so that capital shapes (Greek Η reads H,
#: lower-case η does not) keep their reading. A few read as two or more letters (``ʤ`` reads dʒ).
CONFUSABLES: dict[str, str] = {chr(cp): latin for cp, latin in LATIN_CONFUSABLES.items()} | _HAND_CONFUSABLES
_CONFUSABLE_TABLE = str.maketrans(CONFUSABLES)

_MARK_CLASS = "".join(f"{chr(a)}-{chr(b)}" for a, b in _DIACRITIC_RANGES)
_FORMAT_CLASS = "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"


def _either_plane(bmp: str, beyond: str = "") -> str:
    """A regex for one character of the class ``[bmp]`` or of the class ``[beyond]`` (outside the Basic
    Multilingual Plane). Apart, the first compiles to a table lookup; together, to a list of ranges
    the engine walks for every character (three times slower on ordinary text)."""
    return f"(?:[{bmp}]|(?=[\U00010000-\U0010ffff])[{beyond}])" if beyond else f"[{bmp}]"


_ASTRAL_CONF = "".join(re.escape(c) for c in sorted(CONFUSABLES) if ord(c) > 0xFFFF)
_CONF = "".join(re.escape(c) for c in sorted(CONFUSABLES) if ord(c) <= 0xFFFF)
_CONFUSABLE_RE = re.compile(_either_plane(_CONF, _ASTRAL_CONF))
# A word for the look-alike rule: letters and digits, with marks and invisible characters inside.
_WORD_CHAR = f"(?:[^\\W_]|[{_MARK_CLASS}{_FORMAT_CLASS}\u0640])"
# Word characters an "otherwise Latin" word may hold: Latin letters, look-alikes, ASCII digits, marks.
_LATIN_LETTERS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_LATIN_LIKE = f"{_LATIN_LETTERS}0-9{_CONF}{_MARK_CLASS}{_FORMAT_CLASS}\u0640"


def _latinizable(astral: bool) -> re.Pattern[str]:
    """A whole word (nothing word-like on either side) of Latin-like characters with a look-alike in it
    and a Latin letter. Inside a word the lookbehind fails at once, so the engine tries each word once:
    linear time. Without ``astral``, the classes hold the Basic Multilingual Plane only, so that they
    compile to table lookups; text beyond it takes the other."""
    if astral:
        like = f"[{_LATIN_LIKE}{_ASTRAL_CONF}]"
        return re.compile(
            f"(?<!{_WORD_CHAR})(?={like}*[{_LATIN_LETTERS}]){like}*[{_CONF}{_ASTRAL_CONF}]{like}*"
            f"(?!{_WORD_CHAR})"
        )
    # The same word, starting with one character class so that the engine skips to a candidate in C:
    # its first character, then a Latin letter there or further on, then a look-alike there or further on.
    like = f"[{_LATIN_LIKE}]"
    return re.compile(
        f"{like}(?<!{_WORD_CHAR}.)(?:(?<=[{_LATIN_LETTERS}])|(?={like}*[{_LATIN_LETTERS}]))"
        f"(?:(?<=[{_CONF}]){like}*|{like}*[{_CONF}]{like}*)(?!{_WORD_CHAR})"
    )


_LATINIZABLE_RE = _latinizable(astral=False)
_LATINIZABLE_ASTRAL_RE = _latinizable(astral=True)
_BEYOND_BMP_RE = re.compile("[\U00010000-\U0010ffff]")

#: Han, Kana and Hangul (after NFKD Hangul syllables are conjoining jamo, U+1100–U+11FF).
CJK_CLASS = (
    "\u1100-\u11ff\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3031-\u3035\u3038-\u303c"
    "\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f"
    "\uac00-\ud7af\ud7b0-\ud7ff\uf900-\ufaff\U00020000-\U0003134f"
)
_CJK_RE = re.compile(f"[{CJK_CLASS}]")
# Each starts with a literal or a character class so the engine skips ahead fast; the gap, by far
# the most common, is replaced by a constant (no per-match template expansion).
_CJK_GAP_RE = re.compile(f" (?<=[{CJK_CLASS}] )(?=[{CJK_CLASS}])")
_CJK_AFTER_RE = re.compile(f"([{CJK_CLASS}])(?=[^ \x00{CJK_CLASS}])")
_CJK_BEFORE_RE = re.compile(f"([{CJK_CLASS}])(?<=[^ \x00{CJK_CLASS}][{CJK_CLASS}])")

#: Separator between texts in a batch string; survives :func:`fold` when ``batch=True``.
BATCH_SEPARATOR = "\x00"


def has_cjk(text: str) -> bool:
    """True when the text holds a Han, Kana or Hangul character."""
    return _CJK_RE.search(text) is not None


def is_cjk(char: str) -> bool:
    """True for a Han, Kana or Hangul character (these match as substrings)."""
    return _CJK_RE.fullmatch(char) is not None


#: Every code point that is assigned, private use aside (Unicode 14: planes 0 to 3 and the tags and
#: variation selectors of plane 14); the tables below skip the rest, unassigned or private use
#: (``Cn``, ``Co``: nothing to fold). A test checks this against the whole range.
ASSIGNED_SPANS = ((0, 0x40000), (0xE0000, 0xE0200))


def assigned_code_points(start: int = 0) -> Iterator[int]:
    """The code points of :data:`ASSIGNED_SPANS` from ``start`` on."""
    return itertools.chain.from_iterable(range(max(a, start), b) for a, b in ASSIGNED_SPANS)


@table(tuple)
def _fold_tables() -> tuple[dict[int, str | None], dict[int, str | None]]:
    """(per-text table, batch table): marks and format characters to None, separators to a space."""
    table: dict[int, str | None] = {}
    for cp in assigned_code_points():
        cat = unicodedata.category(chr(cp))
        if cat == "Cf":
            table[cp] = None
        elif cat[0] in "PSZ" or cat == "Cc":
            table[cp] = " "
    for a, b in _SCRIPT_DIACRITIC_RANGES:  # generic marks: :func:`drop_diacritics`
        for cp in range(a, b + 1):
            table[cp] = None
    for cp in _DROPPED_LETTERS:
        table[cp] = None
    for cp in range(_APOSTROPHE_LIKE[0], _APOSTROPHE_LIKE[1] + 1):
        if table.get(cp, "x") is not None:
            table[cp] = " "
    for letter, plain in (STROKE_LETTERS | ARABIC_VARIANTS).items():
        table[ord(letter)] = plain
    batch = dict(table)
    batch[ord(BATCH_SEPARATOR)] = BATCH_SEPARATOR
    return table, batch


def _to_latin(match: re.Match[str]) -> str:
    return match.group().translate(_CONFUSABLE_TABLE)


def latinize(text: str) -> str:
    """Step 2: a word of Latin letters and look-alikes (at least one look-alike) reads as Latin.

    A word is a run of letters and digits with marks and invisible characters inside; it is
    rewritten when every character is Latin-like, one is a look-alike and one is a Latin letter.
    A word made only of look-alikes keeps its script here (``Москва``, ``ТІКТОК``); event text is
    also read with such words latinized (:func:`readings`, kind ``lookalike``).
    A few look-alikes read as two letters; :func:`fold_with_spans` keeps offsets for them.
    """
    if _CONFUSABLE_RE.search(text) is None:
        return text
    pattern = _LATINIZABLE_ASTRAL_RE if _BEYOND_BMP_RE.search(text) else _LATINIZABLE_RE
    return pattern.sub(_to_latin, text)


def _cjk_spacing(text: str) -> str:
    """Step 6: no spaces between CJK characters, one space between CJK and other letters."""
    if _CJK_RE.search(text) is None:
        return text
    text = _CJK_GAP_RE.sub("", text)
    return _CJK_BEFORE_RE.sub(r" \1", _CJK_AFTER_RE.sub(r"\1 ", text))


_YPOGEGRAMMENI = "\u0345"


def _ranges_class(ranges: Sequence[tuple[int, int]]) -> str:
    return "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "") for a, b in ranges)


@cache
def _generic_diacritics_re() -> re.Pattern[str]:
    """A run of generic combining marks that are diacritics: the first not after a letter or mark of a
    script that keeps them (any letter or mark outside :data:`_DIACRITIC_BASE_RANGES`, or a generic
    mark kept there)."""
    generic = _ranges_class(_GENERIC_DIACRITIC_RANGES)
    base = _ranges_class(_DIACRITIC_BASE_RANGES)
    keeps = f"(?:(?![{base}])(?:[^\\W\\d_]|{_mark()}))"
    return re.compile(f"[{generic}](?<!{keeps}.)[{generic}]*")


def drop_diacritics(text: str) -> str:
    """Generic combining marks removed where their base letter is Latin, Greek, Cyrillic, Hebrew or
    Arabic, or where they have none (kept after a letter of another script: policy a, issue 10)."""
    return text if text.isascii() else _generic_diacritics_re().sub("", text)


def _diacritic_positions(text: str) -> set[int]:
    """The positions :func:`drop_diacritics` removes."""
    return {i for m in _generic_diacritics_re().finditer(text) for i in range(*m.span())}


def _casefold(text: str) -> str:
    """Step 3; the Greek iota subscript, a diacritic, is dropped first (case folding makes it a letter ι)."""
    return text.replace(_YPOGEGRAMMENI, "").casefold() if _YPOGEGRAMMENI in text else text.casefold()


def fold(text: str) -> str:
    """The normalized form of one text."""
    s = latinize(unicodedata.normalize("NFKD", text))
    s = " ".join(drop_diacritics(_casefold(s)).translate(_fold_tables()[0]).split())
    return _cjk_spacing(s)


# ---------------------------------------------------------------------------------------------
# Batch folds: many texts in one string, ``"\x00 " + " \x00 ".join(texts) + " \x00"``. Each gives
# exactly the per-text folds laid out the same way (tests check this), with C-level passes only.

_SPACE = ord(" ")
_BMP_LAST = 0xFFFF
_ASTRAL_RE = re.compile("[\U00010000-\U0010ffff]")


def batch_string(texts: Sequence[str]) -> str:
    """Texts laid out for one automaton pass: each between NUL separators (unfolded).

    A NUL inside a text (JSON ``\\u0000``) reads as a space, as in :func:`fold`: were it kept, it
    would pass for a separator and shift every later text's place in the batch.
    """
    joined = f"{BATCH_SEPARATOR} " + f" {BATCH_SEPARATOR} ".join(texts) + f" {BATCH_SEPARATOR}"
    if joined.count(BATCH_SEPARATOR) != len(texts) + 1:
        return batch_string([t.replace(BATCH_SEPARATOR, " ") for t in texts])
    return joined


def fold_ascii_batch(texts: Sequence[str]) -> bytes:
    """Batch fold of all-ASCII texts, done on bytes (and returned as bytes, ready for the automaton)."""
    return fold_ascii(batch_string(texts).encode("ascii"))


@table(dict)
def simple_folds() -> dict[str, bytes]:
    """Each non-ASCII character whose fold is "ASCII after dropping combining diacritics", with that ASCII.

    These are the characters of :func:`is_simple` texts; :func:`fold_simple_batch` folds them in bulk
    and the native triage one by one, from this table, to the same bytes.
    """
    table: dict[str, bytes] = {}
    for cp in range(0x80, 0x10000):
        ch = chr(cp)
        if (
            0xD800 <= cp <= 0xDFFF
            or unicodedata.category(ch) == "Cf"
            or ch in CONFUSABLES
            or is_ignorable(ch)
        ):
            continue
        folded = unicodedata.normalize("NFKD", ch).casefold()
        if all(ord(c) < 0x80 or 0x300 <= ord(c) <= 0x36F for c in folded):
            table[ch] = "".join(c for c in folded if ord(c) < 0x80).encode("ascii")
    return table


@cache
def _not_simple_re() -> re.Pattern[str]:
    """Matches a character whose fold is not "ASCII after dropping combining diacritics"."""
    return re.compile("[^\x00-\x7f" + _class_body([ord(ch) for ch in simple_folds()]) + "]")


def _class_body(codepoints: Sequence[int]) -> str:
    """The inside of a regex character class holding exactly the sorted ``codepoints``, as ranges."""
    ranges: list[str] = []
    i = 0
    while i < len(codepoints):
        j = i
        while j + 1 < len(codepoints) and codepoints[j + 1] == codepoints[j] + 1:
            j += 1
        ranges.append(re.escape(chr(codepoints[i])) + (f"-{re.escape(chr(codepoints[j]))}" if j > i else ""))
        i = j + 1
    return "".join(ranges)


@cache
def _batch_fold_passes() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The batch table as regex passes: dropped runs, separator runs, mapped letters.

    ``str.translate`` looks every character up in a dict; these passes let the regex engine skip
    over the letters, which is most of the text, in C. Their classes hold the Basic Multilingual
    Plane only (a class beyond it is a linear list of ranges, slow to test per character): text
    with characters beyond it goes through the table.
    """
    table = {cp: to for cp, to in _fold_tables()[1].items() if cp <= _BMP_LAST}
    dropped = sorted(cp for cp, to in table.items() if to is None)
    separators = sorted(cp for cp, to in table.items() if to == " ")
    letters = {cp: to for cp, to in table.items() if to and to != " " and to != chr(cp)}
    lone = [cp for cp in separators if cp != _SPACE]
    return (
        re.compile(f"[{_class_body(dropped)}]+"),
        # Two or more separators, or one that is not a space: each becomes one space.
        re.compile(f"[{_class_body(separators)}][{_class_body(separators)}]+|[{_class_body(lone)}]"),
        re.compile(f"[{_class_body(sorted(letters))}]"),
    )


def _map_letter(match: re.Match[str]) -> str:
    return _fold_tables()[1][ord(match.group())] or ""


def is_simple(text: str) -> bool:
    """True for Latin text whose only non-ASCII parts are accents, full-width or compatibility forms."""
    return _not_simple_re().search(text) is None


def not_simple_search() -> Callable[[str], re.Match[str] | None]:
    """The bound search behind :func:`is_simple`, for loops (``None`` means simple)."""
    return _not_simple_re().search


def fold_simple_batch(texts: Sequence[str]) -> bytes:
    """Batch fold of texts for which :func:`is_simple` holds: accents drop, the rest is ASCII (bytes)."""
    data = unicodedata.normalize("NFKD", batch_string(texts)).casefold().encode("ascii", "ignore")
    return fold_ascii(data)


def fold_batch(texts: Sequence[str]) -> str:
    """Batch fold of any texts; a NUL inside a text reads as a space, as in :func:`fold`."""
    joined = batch_string(texts)
    dropped, separators, letters = _batch_fold_passes()
    s = drop_diacritics(_casefold(latinize(unicodedata.normalize("NFKD", joined))))
    if _ASTRAL_RE.search(s):  # emoji, historic scripts: character by character
        s = s.translate(_fold_tables()[1])
    else:
        s = letters.sub(_map_letter, dropped.sub("", s))  # few matches: a call each is cheap
    return _cjk_spacing(separators.sub(" ", s))


# ---------------------------------------------------------------------------------------------
# Readings (policy a): the other ways a writer, or an evader, may mean a text. Each is the text
# with some characters removed or replaced by a space, so each of its characters has a place in
# the original text (its position), and a hit in any reading maps back to original offsets.
#
# * ignorables (characters that render as nothing): read as nothing and, apart, as a space;
# * punctuation inside a word (HA-MAS, HA.MAS): read with the breaks closed (``HAMAS``), except
#   between two digits (dates and amounts: 16.06.2020, 1,250.00);
# * three or more single letters apart (H A M A S, H.A.M.A.S.): read joined (``HAMAS.``).
# * a word made only of look-alikes (``намаѕ``, ``ᎻᎪᎷᎪᏚ``): read as Latin, in the text and in each of
#   the readings above (a look-alike read as two letters gives both its position).
#
# Words are letters, digits and marks (``[^\W_]`` and Unicode category M); punctuation is any other
# character that is not whitespace (``\s``); a letter is ``[^\W\d_]``. The native triage reads ASCII
# and simple texts the same way (``native/src/lib.rs``, from :func:`simple_kinds`).

_IGNORABLE_CLASS, _IGNORABLE_BEYOND = (
    "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "") for a, b in part)
    for part in (
        [(a, min(b, 0xFFFF)) for a, b in IGNORABLE_RANGES if a <= 0xFFFF],
        [(max(a, 0x10000), b) for a, b in IGNORABLE_RANGES if b > 0xFFFF],
    )
)
_IGNORABLE_RE = re.compile(_either_plane(_IGNORABLE_CLASS, _IGNORABLE_BEYOND))
_IGNORABLE_RUN_RE = re.compile(f"{_either_plane(_IGNORABLE_CLASS, _IGNORABLE_BEYOND)}+")
_IGNORABLE_BMP_RE = re.compile(f"[{_IGNORABLE_CLASS}]")  # one class: five times faster to search


def _ignorables(text: str) -> re.Pattern[str]:
    """The search for an ignorable fit for ``text``: one class when all of it is in the Basic Multilingual
    Plane (the other tests each character against the planes beyond too)."""
    return _IGNORABLE_RE if _BEYOND_BMP_RE.search(text) else _IGNORABLE_BMP_RE


_IGNORABLE_STARTS = [a for a, _ in IGNORABLE_RANGES]


def is_ignorable(char: str) -> bool:
    """True for a character that renders as nothing (the generated table of policy a)."""
    k = bisect_right(_IGNORABLE_STARTS, ord(char)) - 1
    return k >= 0 and ord(char) <= IGNORABLE_RANGES[k][1]


@table(str)
def _mark() -> str:
    """A regex matching one combining mark (Unicode category M).

    Two classes: the Basic Multilingual Plane's compiles to a table lookup; the rest, a list of
    ranges tested one by one, is tried only for a character beyond that plane.
    """
    marks = [cp for cp in assigned_code_points() if unicodedata.category(chr(cp))[0] == "M"]
    bmp = _class_body([cp for cp in marks if cp <= _BMP_LAST])
    astral = _class_body([cp for cp in marks if cp > _BMP_LAST])
    return f"(?:[{bmp}]|(?=[\U00010000-\U0010ffff])[{astral}])"


@cache
def _reading_res() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """(punctuation inside a word, a run of single letters, a run of non-word characters, a letter)."""
    mark = _mark()
    word = f"(?:[^\\W_]|{mark})"
    letter = f"[^\\W\\d_]{mark}*"
    punct = f"(?:[^\\w\\s](?<!{mark})|_)"  # the cheap test first: most characters are letters
    return (
        re.compile(f"(?<={word}){punct}+(?={word})"),
        re.compile(f"(?<!{word}){letter}(?:(?:(?!{word}).)+{letter}){{2,}}(?!{word})", re.DOTALL),
        re.compile(f"(?:(?!{word}).)+", re.DOTALL),
        re.compile(letter),
    )


def _cut(text: str, positions: list[int] | None, cuts: Sequence[Span]) -> tuple[str, list[int] | None]:
    """``text`` without the ``cuts`` (sorted, disjoint); positions follow when given."""
    keep = list(zip([0, *(b for _, b in cuts)], [*(a for a, _ in cuts), len(text)], strict=True))
    kept = "".join(text[a:b] for a, b in keep)
    if positions is None:
        return kept, None
    out: list[int] = []
    for a, b in keep:
        out += positions[a:b]
    return kept, out


# Cheap first looks (classes the regex engine tests in C, no mark class): each matches wherever the
# exact pattern of :func:`_reading_res` would (marks count as anything), so most texts stop here.
_MAY_HAVE_INSIDE = re.compile(  # (and "_" in the text) not between two ASCII digits
    r"[^\w\s](?:(?<=[^\s0-9].)(?:[^\w\s]|_)*\S|(?<=[0-9].)(?:[^\w\s]|_)*[^\s0-9])"
)
_MAY_HAVE_APART = re.compile(r"(?<![^\W_])[^\W\d_](?:[\W_]+[^\W\d_]){2,}(?![^\W_])")


def _joins(text: str) -> tuple[list[Span], list[Span]]:
    """Where a text's punctuation inside words is, and the gaps in its runs of single letters."""
    breaks: list[Span] = []
    gaps: list[Span] = []
    if _MAY_HAVE_INSIDE.search(text) is not None or "_" in text:  # not between digits: 16.06.2020
        breaks = [
            m.span()
            for m in _reading_res()[0].finditer(text)
            if not (text[m.start() - 1].isdecimal() and text[m.end()].isdecimal())
        ]
    if _MAY_HAVE_APART.search(text) is not None:
        _, run, gap, _ = _reading_res()
        gaps = [g.span() for m in run.finditer(text) for g in gap.finditer(text, m.start(), m.end())]
    return breaks, gaps


@table(dict)
def lookalike_letters() -> dict[str, str]:
    """Each character made of look-alikes (and diacritic marks) once decomposed (NFKD), with its Latin
    reading: every look-alike of :data:`CONFUSABLES`, and such letters with diacritics on (``ё``, ``ά``)."""
    allowed = re.compile(f"[{_MARK_CLASS}{_FORMAT_CLASS}\u0640]")
    letters = {ch: latin for ch, latin in CONFUSABLES.items() if unicodedata.normalize("NFKD", ch) == ch}
    for cp in assigned_code_points(0x80):
        ch = chr(cp)
        if not unicodedata.decomposition(ch) or 0xD800 <= cp <= 0xDFFF:
            continue
        parts = unicodedata.normalize("NFKD", ch)
        if any(c in CONFUSABLES for c in parts) and all(c in CONFUSABLES or allowed.match(c) for c in parts):
            letters[ch] = parts.translate(_CONFUSABLE_TABLE)
    return letters


@cache
def _lookalike_res() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """(one look-alike letter, a whole word made only of look-alikes, ASCII digits, marks, invisibles,
    and the same word for text within the Basic Multilingual Plane).

    The last starts with one character class, so the engine skips to a candidate in C (twice as fast
    on text in other scripts); its classes hold that plane only.
    """
    codes = sorted(ord(ch) for ch in lookalike_letters())
    bmp = _class_body([cp for cp in codes if cp <= _BMP_LAST])
    letter = _either_plane(bmp, _class_body([cp for cp in codes if cp > _BMP_LAST]))
    others = f"0-9{_MARK_CLASS}{_FORMAT_CLASS}\u0640"
    word = re.compile(f"(?<!{_WORD_CHAR})[{others}]*{letter}(?:{letter}|[{others}])*(?!{_WORD_CHAR})")
    either = f"[{others}{bmp}]"
    one_letter = f"(?:(?<=[{bmp}])|[{others}]*[{bmp}])"  # the first character, or one further on
    bmp_word = re.compile(f"{either}(?<!{_WORD_CHAR}.){one_letter}{either}*(?!{_WORD_CHAR})")
    return re.compile(letter), word, bmp_word


def _lookalike_words(text: str) -> Iterator[re.Match[str]]:
    """The words of ``text`` made only of look-alikes (and digits, marks, invisibles)."""
    _, word, bmp_word = _lookalike_res()
    return (word if _BEYOND_BMP_RE.search(text) else bmp_word).finditer(text)


def _latin_words(text: str, positions: list[int] | None) -> tuple[str, list[int] | None] | None:
    """``text`` with every word made only of look-alikes read as Latin (``None`` when it has none).

    A look-alike may read as several letters: each of them keeps the position of its look-alike.
    """
    words = [m.span() for m in _lookalike_words(text)]
    if not words:
        return None
    letters = lookalike_letters()
    parts: list[str] = []
    out: list[int] | None = None if positions is None else []
    done = 0
    for a, b in [*words, (len(text), len(text))]:
        parts.append(text[done:a])
        if out is not None and positions is not None:
            out += positions[done:a]
        for i in range(a, b):
            latin = letters.get(text[i], text[i])
            parts.append(latin)
            if out is not None and positions is not None:
                out += [positions[i]] * len(latin)
        done = b
    return "".join(parts), out


#: The kinds of reading: ignorables (as nothing, as a space), punctuation inside words closed, single
#: letters apart joined, words of look-alikes latinized. The core uses all; the false-positive
#: benchmark turns them on one at a time.
READING_KINDS = frozenset({"ignorable", "inside", "apart", "lookalike"})


def readings(
    text: str, *, positions: bool = False, kinds: frozenset[str] = READING_KINDS
) -> list[tuple[str, list[int] | None]]:
    """The other readings of ``text`` (not ``text`` itself), each with the original position of each
    of its characters when ``positions`` (else ``None``). Most texts have none.

    With ignorables: the text with them read as nothing, and with them read as a space. Then each of
    these (or the text itself) also reads with punctuation inside words closed, and each of those with
    runs of single letters joined; each of all these, with its words made only of look-alikes latinized.
    """
    ident = list(range(len(text))) if positions else None
    bases: list[tuple[str, list[int] | None]] = [(text, ident)]
    if "ignorable" in kinds and _ignorables(text).search(text) is not None:
        bases = [
            _cut(text, ident, [m.span() for m in _IGNORABLE_RUN_RE.finditer(text)]),
            (_IGNORABLE_RE.sub(" ", text), ident),
        ]
    out: dict[str, list[int] | None] = {}
    for base, where in bases:
        found = [(base, where)]
        breaks, gaps = _joins(base)
        breaks = breaks if "inside" in kinds else []
        gaps = gaps if "apart" in kinds else []
        if breaks:
            found.append(_cut(base, where, breaks))
            closed = found[-1][0]
            _, closed_gaps = _joins(closed)
            if closed_gaps and "apart" in kinds:
                found.append(_cut(closed, found[-1][1], closed_gaps))
        if gaps:
            found.append(_cut(base, where, gaps))
        if "lookalike" in kinds:
            found += [latin for reading, at in found if (latin := _latin_words(reading, at)) is not None]
        for reading, at in found:
            if reading != text and reading not in out:
                out[reading] = at
    return list(out.items())


def may_have_readings(texts: Sequence[str]) -> list[int]:
    """Indices of the ``texts`` that may have other readings (all that have some, and a few more).

    Four searches over the texts joined by newlines, instead of four per text: most have none.
    """
    joined = "\n".join(texts)
    ends = list(itertools.accumulate(len(t) + 1 for t in texts))
    flagged: set[int] = set()
    for found in (
        *(pattern.finditer(joined) for pattern in (_ignorables(joined), _MAY_HAVE_INSIDE, _MAY_HAVE_APART)),
        _lookalike_words(joined),
    ):
        for m in found:
            flagged.update(range(bisect_right(ends, m.start()), bisect_right(ends, m.end() - 1) + 1))
    if "_" in joined:
        flagged.update(k for k, text in enumerate(texts) if "_" in text)
    return sorted(flagged)


@cache
def _lookalike_table() -> dict[int, str]:
    return str.maketrans(lookalike_letters())


def readings_of_many(texts: Sequence[str], *, kinds: frozenset[str] = READING_KINDS) -> list[tuple[int, str]]:
    """``(k, reading)`` for each other reading of each text ``texts[k]``, in the order of :func:`readings`.

    The searches of :func:`may_have_readings` run once over all the texts; a text whose only readings
    are of look-alike words (most texts in other scripts) is read from the words found there.
    """
    if "lookalike" not in kinds:
        return [
            (k, reading) for k in may_have_readings(texts) for reading, _ in readings(texts[k], kinds=kinds)
        ]
    joined = "\n".join(texts)
    ends = list(itertools.accumulate(len(t) + 1 for t in texts))
    flagged: set[int] = set()
    for pattern in (_ignorables(joined), _MAY_HAVE_INSIDE, _MAY_HAVE_APART):
        for m in pattern.finditer(joined):
            flagged.update(range(bisect_right(ends, m.start()), bisect_right(ends, m.end() - 1) + 1))
    if "_" in joined:
        flagged.update(k for k, text in enumerate(texts) if "_" in text)
    words: dict[int, list[Span]] = {}
    for m in _lookalike_words(joined):
        words.setdefault(bisect_right(ends, m.start()), []).append(m.span())
    table = _lookalike_table()
    out: list[tuple[int, str]] = []
    for k in sorted(flagged | words.keys()):
        if k in flagged:
            out += [(k, reading) for reading, _ in readings(texts[k], kinds=kinds)]
            continue
        pieces: list[str] = []
        done = ends[k] - len(texts[k]) - 1
        for a, b in words[k]:
            pieces += (joined[done:a], joined[a:b].translate(table))
            done = b
        pieces.append(joined[done : ends[k] - 1])
        out.append((k, "".join(pieces)))
    return out


@cache
def simple_kinds() -> dict[str, int]:
    """How the readings see each character of :func:`simple_folds`: 1 letter, 2 digit, 3 punctuation,
    4 whitespace, 0 other (a mark: the native triage hands such a text back)."""
    marks = re.compile(_mark())
    kinds: dict[str, int] = {}
    for ch in simple_folds():
        if marks.fullmatch(ch):
            kinds[ch] = 0
        elif re.fullmatch(r"[^\W\d_]", ch):
            kinds[ch] = 1
        elif re.fullmatch(r"\d", ch):
            kinds[ch] = 2
        elif ch.isspace():
            kinds[ch] = 4
        else:
            kinds[ch] = 3
    return kinds


# ---------------------------------------------------------------------------------------------
# The slow twin with offsets.

Span = tuple[int, int]


def _nfkd_with_spans(text: str) -> tuple[list[str], list[Span]]:
    """NFKD one character at a time, each output character tagged with its source span.

    Canonical reordering can move marks across characters; when the per-character result
    differs from the whole-string one, whole combining sequences (a starter and the marks that
    follow) are decomposed together, and as a last resort the whole text is one span.
    """
    if text.isascii() or unicodedata.is_normalized("NFKD", text):  # each character decomposes to itself
        return list(text), [(i, i + 1) for i in range(len(text))]
    whole = unicodedata.normalize("NFKD", text)
    parts = [unicodedata.normalize("NFKD", ch) for ch in text]
    if "".join(parts) == whole:
        return list(whole), [(i, i + 1) for i, part in enumerate(parts) for _ in part]
    chars: list[str] = []
    spans: list[Span] = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or unicodedata.combining(text[i]) == 0:
            for d in unicodedata.normalize("NFKD", text[start:i]):
                chars.append(d)
                spans.append((start, i))
            start = i
    if "".join(chars) == whole:
        return chars, spans
    return list(whole), [(0, len(text))] * len(whole)


def fold_with_spans(text: str) -> tuple[str, list[Span]]:
    """:func:`fold` of ``text`` plus, for each output character, its ``(start, end)`` in ``text``."""
    table = _fold_tables()[0]
    chars, spans = _nfkd_with_spans(text)
    chars, spans = _latinize_with_spans(chars, spans)
    folded = [
        (c, span)
        for ch, span in zip(chars, spans, strict=True)
        if ch != _YPOGEGRAMMENI
        for c in ch.casefold()
    ]
    dropped = _diacritic_positions("".join(c for c, _ in folded))
    out: list[str] = []
    out_spans: list[Span] = []
    for i, (c, span) in enumerate(folded):
        mapped = None if i in dropped else table.get(ord(c), c)
        if mapped is None:
            continue
        for m in mapped:
            if m.isspace():
                if out and out[-1] != " ":
                    out.append(" ")
                    out_spans.append(span)
            else:
                out.append(m)
                out_spans.append(span)
    if out and out[-1] == " ":
        out.pop()
        out_spans.pop()
    return _cjk_spacing_with_spans(out, out_spans)


def _latinize_with_spans(chars: list[str], spans: list[Span]) -> tuple[list[str], list[Span]]:
    """:func:`latinize` of single characters, each tagged with a span; a look-alike read as several
    Latin letters gives each of them its span."""
    joined = "".join(chars)
    if _CONFUSABLE_RE.search(joined) is None:
        return chars, spans
    out: list[str] = []
    out_spans: list[Span] = []
    done = 0
    pattern = _LATINIZABLE_ASTRAL_RE if _BEYOND_BMP_RE.search(joined) else _LATINIZABLE_RE
    for match in pattern.finditer(joined):
        out += chars[done : match.start()]
        out_spans += spans[done : match.start()]
        for i in range(match.start(), match.end()):
            for c in CONFUSABLES.get(chars[i], chars[i]):
                out.append(c)
                out_spans.append(spans[i])
        done = match.end()
    out += chars[done:]
    out_spans += spans[done:]
    return out, out_spans


def _cjk_spacing_with_spans(chars: list[str], spans: list[Span]) -> tuple[str, list[Span]]:
    if _CJK_RE.search("".join(chars)) is None:
        return "".join(chars), spans
    cjk = [is_cjk(c) for c in chars]
    kept: list[str] = []
    kept_spans: list[Span] = []
    kept_cjk: list[bool] = []
    for i, c in enumerate(chars):
        if c == " " and 0 < i < len(chars) - 1 and cjk[i - 1] and cjk[i + 1]:
            continue
        kept.append(c)
        kept_spans.append(spans[i])
        kept_cjk.append(cjk[i])
    out: list[str] = []
    out_spans: list[Span] = []
    for i, c in enumerate(kept):
        if i > 0:
            prev, prev_cjk = kept[i - 1], kept_cjk[i - 1]
            if (prev_cjk and not kept_cjk[i] and c != " ") or (not prev_cjk and prev != " " and kept_cjk[i]):
                out.append(" ")
                out_spans.append(kept_spans[i])
        out.append(c)
        out_spans.append(kept_spans[i])
    return "".join(out), out_spans


_ASCII_WORD_RE = re.compile(r"[A-Za-z0-9]+")


_CHUNK_RE = re.compile(r"\S+")


def fold_with_spans_by_chunks(text: str) -> tuple[str, list[Span]]:
    """:func:`fold_with_spans`, whitespace-separated piece by piece: ASCII pieces word by word, only the
    others character by character (most texts that hit are mostly ASCII). This is the one fold with
    spans of the full path (:class:`FoldMap`), for all-ASCII texts too. The spans of the spaces
    between words may differ (a space's span is never an end of a hit: forms start and end with a
    letter); with Han, Kana or Hangul (spacing across pieces) the whole text is folded at once.
    """
    if not text.isascii() and _CJK_RE.search(text) is not None:
        return fold_with_spans(text)
    parts: list[str] = []
    spans: list[Span] = []
    for chunk in _CHUNK_RE.finditer(text):
        piece, at = chunk.group(), chunk.start()
        if piece.isascii():
            for word in _ASCII_WORD_RE.finditer(piece):
                a, b = word.span()
                if parts:
                    parts.append(" ")
                    spans.append((at + a - 1, at + a))
                parts.append(word.group().lower())
                spans += [(at + i, at + i + 1) for i in range(a, b)]
            continue
        folded, piece_spans = fold_with_spans(piece)
        if not folded:
            continue
        if parts:
            parts.append(" ")
            spans.append((at - 1, at))
        parts.append(folded)
        spans += [(at + a, at + b) for a, b in piece_spans]
    return "".join(parts), spans


class FoldMap:
    """A text's fold and the way back: :meth:`span` turns a folded range into an original one.

    For a reading (:func:`readings`), ``positions`` maps each of its characters to the original text.
    """

    __slots__ = ("_at", "_positions", "_spans", "folded")

    def __init__(
        self,
        text: str,
        positions: list[int] | None = None,
        *,
        native: Callable[[str], tuple[str, list[int]] | None] | None = None,
    ) -> None:
        """``native``: the native fold with positions (``Triage.fold_positions``), tried first: per folded
        character the index of the character of ``text`` it comes from (``None``: Python folds it)."""
        self._positions = positions
        found = None if native is None else native(text)
        if found is None:
            self.folded, self._spans = fold_with_spans_by_chunks(text)
            self._at: list[int] | None = None
        else:
            self.folded, self._at = found
            self._spans = []

    def span(self, start: int, end: int) -> Span:
        """The original ``(start, end)`` of the folded characters ``[start, end)`` (``end > start``)."""
        if self._positions is not None:
            a, b = self._text_span(start, end)
            return self._positions[a], self._positions[b - 1] + 1
        return self._text_span(start, end)

    def _text_span(self, start: int, end: int) -> Span:
        if self._at is not None:
            return self._at[start], self._at[end - 1] + 1
        return self._spans[start][0], self._spans[end - 1][1]


# ---------------------------------------------------------------------------------------------
# The native triage's fold of any script (``native/src/fold.rs``): one entry per character.

#: ``NativeFold.kind``: how the readings see a character (as :func:`simple_kinds`, and 5 for a mark).
KIND_LETTER, KIND_DIGIT, KIND_PUNCT, KIND_SPACE, KIND_MARK = 1, 2, 3, 4, 5
#: ``NativeFold.look``: a boundary of look-alike words, a word character that is not a look-alike,
#: one a look-alike word may hold besides look-alikes (ASCII digits, diacritics, tatweel), a look-alike,
#: a look-alike that is not a word character (``€``, ``×``: it also bounds words).
LOOK_BOUNDARY, LOOK_WORD, LOOK_OTHER, LOOK_LETTER, LOOK_LETTER_NOT_WORD = 0, 1, 2, 3, 4
#: ``NativeFold.flags``: its decomposition holds a Latin letter; a look-alike (:data:`CONFUSABLES`);
#: it is a word boundary that decomposes into word characters or look-alikes; its decomposition is
#: all Latin-like (:func:`latinize` may read it as Latin); a generic combining mark right after it is
#: kept (:func:`drop_diacritics`); it is a generic combining mark (kept or dropped by what precedes).
FLAG_LATIN, FLAG_CONFUSABLE, FLAG_JOINS, FLAG_LIKE, FLAG_KEEPS, FLAG_GENERIC = 1, 2, 4, 8, 16, 32
#: ``NativeFold.flags``: read as Latin, it has a separator before it; after it.
FLAG_LATIN_LEAD, FLAG_LATIN_TRAIL = 64, 128

#: One character's native fold: ``fold`` is :func:`fold` of the character alone, ``lead``/``trail``
#: whether it has a separator before/after that; ``ccc_first``/``ccc_last`` the canonical combining
#: classes of the ends of its decomposition (the native fold hands a text back where canonical
#: reordering would move a mark across characters).
NativeFold = tuple[str, bool, bool, int, int, int, int, str, int, str]


def cjk_ranges() -> list[tuple[int, int]]:
    """:data:`CJK_CLASS` as inclusive code point ranges."""
    return [(ord(CJK_CLASS[i]), ord(CJK_CLASS[i + 2])) for i in range(0, len(CJK_CLASS), 3)]


def _native_kind(ch: str) -> int:
    """How the readings see ``ch`` (``[^\\W\\d_]``, ``\\d``, ``\\s``, a mark, the rest)."""
    if ch.isalnum():
        return KIND_DIGIT if ch.isdecimal() else KIND_LETTER
    if ch.isspace():
        return KIND_SPACE
    return KIND_MARK if unicodedata.category(ch)[0] == "M" else KIND_PUNCT


def _native_look(ch: str, lookalikes: dict[str, str], look_other: re.Pattern[str]) -> int:
    """How the look-alike reading sees ``ch`` (``_lookalike_res``)."""
    if ch in lookalikes:
        return LOOK_LETTER if ch.isalnum() or look_other.match(ch) else LOOK_LETTER_NOT_WORD
    if look_other.match(ch):
        return LOOK_OTHER
    return LOOK_WORD if ch.isalnum() else LOOK_BOUNDARY


def warm_tables() -> None:
    """Build now every table and pattern the folds and readings build on first use (about 0.4 s, less
    what :func:`matchers.built_tables.seed` handed in), so that a start-up pays it, not the first batch."""
    _fold_tables()
    _generic_diacritics_re()
    simple_folds()
    _not_simple_re()
    _batch_fold_passes()
    _reading_res()
    lookalike_letters()
    _lookalike_res()
    _lookalike_table()
    simple_kinds()


@cache
def native_fold_table() -> dict[str, NativeFold]:
    """``(fold, lead, trail, kind, look, ccc_first, ccc_last, latin, flags, latin_fold)`` for every
    non-ASCII character of the Basic Multilingual Plane that the native triage folds on its own
    (``native/src/fold.rs``; ``latin_fold`` is its fold when :func:`latinize` reads it as Latin).

    Left out, so that the triage hands their texts to Python: ignorable and format characters,
    controls, surrogates, unassigned code points, and characters whose decomposition starts with a
    generic combining mark (whether that is a diacritic depends on the letter before it). Built in a
    few passes over all the characters joined (a per-character loop of :func:`fold` takes a second).
    """
    generic = re.compile(f"[{_ranges_class(_GENERIC_DIACRITIC_RANGES)}]")
    chars: list[str] = []
    decomposed: list[str] = []
    for cp in range(0x80, 0x10000):
        ch = chr(cp)
        if unicodedata.category(ch) in ("Cs", "Cn", "Cf", "Cc") or is_ignorable(ch):
            continue
        nfkd = unicodedata.normalize("NFKD", ch)
        if generic.match(nfkd) is None or (len(nfkd) == 1 and ch != _YPOGEGRAMMENI):
            chars.append(ch)
            decomposed.append(nfkd)
    sep = BATCH_SEPARATOR
    table1 = _fold_tables()[1]
    folds = drop_diacritics(_casefold(sep.join(decomposed))).translate(table1).split(sep)
    latin_folds = (
        drop_diacritics(_casefold(sep.join(decomposed).translate(_CONFUSABLE_TABLE)))
        .translate(table1)
        .split(sep)
    )
    mark = "\u0301"
    keeps = [
        k.endswith(mark)
        for k in drop_diacritics(_casefold(f"{mark}{sep}".join(decomposed) + mark)).split(sep)
    ]
    like = re.compile(f"[{_LATIN_LIKE}{_ASTRAL_CONF}]*")
    lookalikes = lookalike_letters()
    look_other = re.compile(f"[0-9{_MARK_CLASS}{_FORMAT_CLASS}\u0640]")
    latin_letter = re.compile(f"[{_LATIN_LETTERS}]").search
    confusable = _CONFUSABLE_RE.search
    out: dict[str, NativeFold] = {}
    for ch, nfkd, plain_folded, plain_latin_folded, keeps_after in zip(
        chars, decomposed, folds, latin_folds, keeps, strict=True
    ):
        if plain_folded == ch and ch.isalpha() and ch not in lookalikes and ch not in CONFUSABLES:
            # Most characters (Han, Hangul, letters of most scripts): a letter that folds to itself.
            latin = FLAG_LATIN | FLAG_LIKE if latin_letter(ch) else 0
            keep = FLAG_KEEPS if keeps_after else 0
            out[ch] = (ch, False, False, KIND_LETTER, LOOK_WORD, 0, 0, "", latin | keep, ch)
            continue
        is_generic = generic.match(nfkd) is not None
        # A generic mark is kept or dropped by what precedes it: its entry holds the mark.
        folded, latin_folded = (_casefold(nfkd),) * 2 if is_generic else (plain_folded, plain_latin_folded)
        core = " ".join(folded.split()) if len(folded) > 1 else folded.strip()
        if len(core) > 1 and _CJK_RE.search(core) is not None:
            core = _cjk_spacing(core)
        lead = folded[:1].isspace()
        trail = folded[-1:].isspace()
        kind, look = _native_kind(ch), _native_look(ch, lookalikes, look_other)
        flags = (FLAG_LATIN if latin_letter(nfkd) else 0) | (FLAG_CONFUSABLE if confusable(nfkd) else 0)
        if look == LOOK_BOUNDARY and (flags & FLAG_CONFUSABLE or any(c.isalnum() for c in nfkd)):
            flags |= FLAG_JOINS
        flags |= (FLAG_LIKE if like.fullmatch(nfkd) else 0) | (FLAG_KEEPS if keeps_after else 0)
        flags |= FLAG_GENERIC if is_generic else 0
        flags |= (FLAG_LATIN_LEAD if latin_folded[:1].isspace() else 0) | (
            FLAG_LATIN_TRAIL if latin_folded[-1:].isspace() else 0
        )
        ccc = (unicodedata.combining(nfkd[0]), unicodedata.combining(nfkd[-1]))
        latin_core = " ".join(latin_folded.split())
        out[ch] = (core, lead, trail, kind, look, *ccc, lookalikes.get(ch, ""), flags, latin_core)
    return out
