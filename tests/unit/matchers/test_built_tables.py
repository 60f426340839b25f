"""Tables built once per process: on first use, or handed in ready-made by the build cache, never wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from matchers import built_tables, normalize
from matchers.built_tables import Table

ROOT = Path(__file__).resolve().parents[3]


def test_a_table_is_built_once_on_first_use() -> None:
    """The builder runs on the first call only, and every call gives the same value."""
    calls: list[int] = []

    def build() -> dict[str, int]:
        calls.append(1)
        return {"a": 1}

    made = Table(build, dict)
    assert not made.ready
    first = made()
    assert made() is first
    assert calls == [1]
    assert made.ready


def test_a_table_takes_an_offered_value_of_its_type_before_it_is_built() -> None:
    """An offer of the right type before the first use stands in for the build; a wrong type, or an offer
    after the build, is refused and changes nothing."""
    made = Table(lambda: {"built": 1}, dict)
    assert not made.offer(["not", "a", "dict"])
    assert not made.ready
    assert made.offer({"seeded": 2})
    assert made.seeded
    assert made() == {"seeded": 2}
    assert not made.offer({"late": 3})
    assert made() == {"seeded": 2}


def test_the_fold_tables_are_registered_for_the_build_cache() -> None:
    """The tables that cost a start-up most are registered, and built() gives each its built value."""
    values = built_tables.built()
    assert values["matchers.normalize.simple_folds"] == normalize.simple_folds()
    assert values["matchers.normalize.lookalike_letters"] == normalize.lookalike_letters()
    assert values["matchers.normalize._fold_tables"] == normalize._fold_tables()
    assert values["matchers.normalize._mark"] == normalize._mark()


_CHILD = """
import json, sys
from pathlib import Path
from matchers import built_tables, normalize
from streams.lists import load_automaton
from streams.settings import FuzzyChoice
names = ("simple_folds", "lookalike_letters", "_fold_tables", "_mark")
load_automaton(None, fuzzy=FuzzyChoice(cache=Path(sys.argv[1])), report=None)
ready = {n: getattr(normalize, n).ready for n in names}
seeded = {n: getattr(normalize, n).seeded for n in names}
texts = ["Ｂｙｔｅ　Ｄａｎｃｅ", "ТікТок", "Usāma bin Lādin", "Mañana\\u200b S.A.", "ʜᴀᴍᴀꜱ", "हिन्दी नाम"]
print(json.dumps({"ready": ready, "seeded": seeded, "folds": [normalize.fold(t) for t in texts],
                  "readings": [normalize.readings(t) for t in texts], "tables": len(built_tables.built())}))
"""


def _child(cache: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(cache)], check=True, capture_output=True, text=True, cwd=ROOT
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_start_up_from_the_build_cache_folds_as_a_cold_one(tmp_path: Path) -> None:
    """In fresh processes: the start-up that writes the cache builds the fold tables, the one that reads it
    back is handed them; both have every table ready before the first event and fold texts alike."""
    cold = _child(tmp_path / "cache")
    warm = _child(tmp_path / "cache")
    names = ["simple_folds", "lookalike_letters", "_fold_tables", "_mark"]
    assert cold["ready"] == warm["ready"] == dict.fromkeys(names, True)
    assert cold["seeded"] == dict.fromkeys(names, False)
    assert warm["seeded"] == dict.fromkeys(names, True)
    assert warm["folds"] == cold["folds"]
    assert warm["readings"] == cold["readings"]
    assert warm["tables"] == cold["tables"] == len(names)
