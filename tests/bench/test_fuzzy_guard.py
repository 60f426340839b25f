"""Quick ratio-only guard: the fuzzy tier's cost over the exact tier does not grow."""

from __future__ import annotations

import pytest

from benchmarks.core import make_events
from benchmarks.fuzzy import speed
from matchers.automaton import NameAutomaton
from matchers.sources import DEFAULT_SOURCES, load_watchlists

pytestmark = pytest.mark.bench

#: Fuzzy-on core speed over exact-only, side by side: 0.53-0.62 measured (README, policy h); the issue's
#: target is 0.90, not met yet, so this only keeps it from getting worse, with room for a noisy machine.
FLOOR = 0.45


def test_fuzzy_tier_cost_holds() -> None:
    """The core with the fuzzy tier keeps at least 45% of the exact-only core's speed, same traffic."""
    lists = load_watchlists(DEFAULT_SOURCES)
    exact, fuzzy = NameAutomaton(lists, fuzzy=False), NameAutomaton(lists)
    raws, _ = make_events(lists, 12_000)
    result = speed(exact, fuzzy, raws, rounds=5)
    print(f"fuzzy/exact core ratio {result['fuzzy_over_exact']} (rounds {result['rounds']})")
    assert result["fuzzy_over_exact"] >= FLOOR
