"""False-positive cost of each reading of policy a, on the benchmark traffic.

Run ``python -m benchmarks.readings_cost [--events N]``. The same realistic events as the core
benchmark (:func:`benchmarks.core.make_events`: multilingual, 1% carrying a listed name in one of
the synthetic spellings) are screened by the full path with no other reading, with each kind of
reading alone (ignorables, punctuation inside words, single letters apart, words of look-alikes
latinized) and with all. For each it
prints how many clean events (no planted name) were blocked, how many planted ones were, and how
many events the native triage could not clear by itself.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import orjson

from benchmarks.core import BATCH, make_events
from matchers import screening
from matchers.automaton import NameAutomaton
from matchers.normalize import READING_KINDS, readings, readings_of_many
from matchers.sources import DEFAULT_SOURCES, load_watchlists
from matchers.triage import TriageCode

SETTINGS: dict[str, frozenset[str]] = {
    "none": frozenset(),
    "ignorable": frozenset({"ignorable"}),
    "inside": frozenset({"inside"}),
    "apart": frozenset({"apart"}),
    "lookalike": frozenset({"lookalike"}),
    "all": READING_KINDS,
}


@contextmanager
def only(kinds: frozenset[str]) -> Iterator[None]:
    """The core with only these kinds of reading (the measurement's one switch)."""
    saved = screening.readings, screening.readings_of_many
    screening.readings = functools.partial(readings, kinds=kinds)  # type: ignore[assignment]
    screening.readings_of_many = functools.partial(readings_of_many, kinds=kinds)  # type: ignore[assignment]
    try:
        yield
    finally:
        screening.readings, screening.readings_of_many = saved


def main(argv: list[str] | None = None) -> int:
    """Print one line per setting: clean events blocked, planted events blocked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args(argv)
    lists = load_watchlists(DEFAULT_SOURCES)
    automaton = NameAutomaton(lists)
    raws, planted = make_events(lists, args.events)
    ids = [orjson.loads(raw)["id"] for raw in raws]  # the benchmark traffic is all well-formed
    codes: Counter[int] = Counter()
    for i in range(0, len(raws), BATCH):
        codes.update(automaton.triage.classify(raws[i : i + BATCH], 1 << 20)[0])
    print(f"{len(raws):,} events, {len(planted):,} with a planted name")
    clean, check, full = codes[TriageCode.CLEAN], codes[TriageCode.CHECK_TEXTS], codes[TriageCode.FULL_PATH]
    print(f"native triage: {clean:,} cleared, {check:,} texts handed back, {full:,} full path")
    events = [orjson.loads(raw) for raw in raws]
    texts = [
        [e["debtor"]["name"], e["creditor"]["name"], e.get("remittance") or ""]
        + [(p.get("agent") or {}).get("name") or "" for p in (e["debtor"], e["creditor"])]
        for e in events
    ]
    for kind in sorted(READING_KINDS):
        having = sum(1 for five in texts if any(readings(t, kinds=frozenset({kind})) for t in five))
        print(f"events with a reading of kind {kind}: {having:,}")
    blocked_by: dict[str, set[str]] = {}
    for name, kinds in SETTINGS.items():
        blocked: set[str] = set()
        with only(kinds):
            for i in range(0, len(raws), BATCH):
                result = screening.screen_batch_full(raws[i : i + BATCH], automaton)
                blocked |= {ids[i + k] for k in result.hits}
        blocked_by[name] = blocked
    base = blocked_by["none"]
    for name, blocked in blocked_by.items():
        clean = blocked - planted
        extra = len(clean - base)
        print(
            f"{name:>9}: clean blocked {len(clean):,} ({extra:+,} over none), "
            f"planted blocked {len(blocked & planted):,} of {len(planted):,}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
