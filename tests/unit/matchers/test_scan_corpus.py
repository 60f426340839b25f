"""The layout corpus of the native automaton (matchers/data/scan-corpus.txt) is what its generator makes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from matchers import scan_corpus_gen
from matchers.backend import SCAN_CORPUS


def test_the_shipped_corpus_is_what_its_documented_commands_make(tmp_path: Path) -> None:
    """The module docstring's loadgen and generator commands, run again, write the shipped file exactly."""
    files = []
    for profile, name in (("latin", "corpus-latin.jsonl"), ("multilingual", "corpus-multi.jsonl")):
        out = tmp_path / name
        subprocess.run(
            [sys.executable, "-m", "streams.cli", "loadgen", "--count", "500", "--listed-share", "0",
             "--malformed-share", "0", "--seed", "11", "--profile", profile, "--out", str(out)],
            check=True, capture_output=True,
        )  # fmt: skip
        files.append(out)
    made = subprocess.run(
        [sys.executable, "-m", "matchers.scan_corpus_gen", *map(str, files)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert made == SCAN_CORPUS.read_text(encoding="utf-8")


def test_a_corpus_line_is_the_folded_batch_of_the_texts_and_their_readings() -> None:
    """NULs between texts become `|`; a punctuated word's joined reading is laid out after the texts."""
    line = scan_corpus_gen.corpus_line(["Anna-Maria Lee", "ACME Bank"])
    assert line == "| anna maria lee | acme bank | annamaria lee |"
