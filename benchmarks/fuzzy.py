"""The fuzzy tier's targets (issue 10): recall on typos, false positives, speed, and a million names.

Run ``python -m benchmarks.fuzzy`` (the suite's core step runs it too). Every figure is measured
side by side with the exact-only matcher (``--fuzzy off``) in the same process:

* **recall**: seeded one- and two-edit typo variants (:mod:`benchmarks.typos`) of every strong SDN
  and UN name with an edit budget (9 letters or more), kept when within the budget of the name; a
  variant counts as found when its event is blocked by that entity. Names left exact-only (their
  anchors too common) count as misses.
* **false positives**: clean benchmark traffic (loadgen, seed 42, no planted names) and ordinary
  Faker names in many locales (seed 2; the gram table used seed 1) that the exact tier clears: the
  share the fuzzy tier blocks.
* **speed**: the core/orjson ratio with the fuzzy tier on over the same ratio with it off, rounds
  alternating over the same traffic (the core benchmark's).
* **build**: ``--build N``: build time and peak memory for the bundled lists plus N synthetic names
  with the fuzzy tier on, in a fresh process.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from benchmarks.core import RESULTS, make_events, measure, peak_rss_mb
from benchmarks.typos import typo_variant, within_budget
from matchers.automaton import NameAutomaton
from matchers.fuzzy import budget
from matchers.fuzzy_grams_gen import ordinary_names
from matchers.policy import MatchRule, fuzzy_forms, match_rule, orders
from matchers.screening import screen_batch
from matchers.sources import DEFAULT_SOURCES, load_watchlists
from matchers.watchlist import EntityType, NameStrength, Watchlist
from schemas.records import Hit
from streams.loadgen.synthetic import EventFactory


def _event(creditor: str, remittance: str = "Invoice 4711", event_id: str = "e") -> bytes:
    return orjson.dumps(
        {
            "id": event_id,
            "created_at": "2026-01-05T10:00:00Z",
            "amount": "10.00",
            "currency": "EUR",
            "debtor": {"name": "Northwind Trading GmbH"},
            "creditor": {"name": creditor},
            "remittance": remittance,
        }
    )


def typo_cases(
    watchlists: Sequence[Watchlist], *, edits: int, seed: int = 7, every: int = 1
) -> list[tuple[str, bytes, str]]:
    """(entity id, event, kinds) per typo variant of every ``every``-th eligible SDN/UN name.

    A name of an entity matching anywhere is planted in a remittance; a whole-field name as the
    creditor name. Individuals are written given names first.
    """
    rng = random.Random(seed)
    cases = []
    names = [
        (entity, name)
        for wl in watchlists
        if wl.list_id in ("ofac-sdn", "un")
        for entity in wl.entities
        for name in entity.names
        if name.strength is NameStrength.STRONG
    ]
    for entity, name in names[::every]:
        forms = fuzzy_forms(name, entity.type)
        if not forms or not budget(len(forms[0]) - forms[0].count(" ")):
            continue
        written = orders(name.text, entity.type)[-1] if entity.type is EntityType.INDIVIDUAL else name.text
        form = forms[-1] if entity.type is EntityType.INDIVIDUAL else forms[0]
        for _ in range(5):  # a variant within budget (a few edits cancel out or exceed it)
            variant, kinds = typo_variant(written.upper(), edits, rng)
            if within_budget(form, variant):
                break
        else:
            continue
        if match_rule(name, entity.type) is MatchRule.WHOLE_FIELD:
            raw = _event(variant)
        else:
            raw = _event("Northwind Trading GmbH", f"payment to {variant} ref 55")
        cases.append((entity.id, raw, kinds))
    return cases


def recall(automaton: NameAutomaton, cases: Sequence[tuple[str, bytes, str]]) -> dict[str, Any]:
    """The share of typo variants blocked by their entity, overall and per kind of edit."""
    found: dict[str, list[int]] = {}
    for start in range(0, len(cases), 2000):
        chunk = cases[start : start + 2000]
        result = screen_batch([raw for _, raw, _ in chunk], automaton)
        for i, (entity_id, _, kinds) in enumerate(chunk):
            hit = any(h.entity_id == entity_id for h in result.hits.get(i, []))
            tally = found.setdefault(kinds if "+" not in kinds else "two edits", [0, 0])
            tally[0] += hit
            tally[1] += 1
    total = sum(t[1] for t in found.values())
    hits = sum(t[0] for t in found.values())
    return {
        "variants": total,
        "found": hits,
        "recall": hits / total if total else 0.0,
        "by_kind": {k: round(t[0] / t[1], 4) for k, t in sorted(found.items())},
    }


def ordinary_false_positives(
    exact: NameAutomaton, fuzzy: NameAutomaton, count: int = 10_000, seed: int = 2
) -> dict[str, Any]:
    """Faker names (creditor name) the exact tier clears: how many the fuzzy tier blocks, and which."""
    names = list(ordinary_names(count, seed))
    raws = [_event(name, event_id=f"n{i}") for i, name in enumerate(names)]
    found = _added_blocks(
        exact, fuzzy, raws, lambda i, hit: f"{names[i]} ~ {hit.matched_name} (d={hit.distance})"
    )
    return {"names": found.pop("kept"), **found}


def traffic_false_positives(
    exact: NameAutomaton, fuzzy: NameAutomaton, raws: Sequence[bytes]
) -> dict[str, Any]:
    """Clean traffic the exact tier clears: how many events the fuzzy tier blocks."""
    found = _added_blocks(
        exact, fuzzy, raws, lambda _, hit: f"{hit.matched_text} ~ {hit.matched_name} (d={hit.distance})"
    )
    return {"events": found.pop("kept"), **found}


def _added_blocks(
    exact: NameAutomaton, fuzzy: NameAutomaton, raws: Sequence[bytes], example: Callable[[int, Hit], str]
) -> dict[str, Any]:
    """Of the inputs the exact tier clears (``kept``), how many the fuzzy tier blocks, their share, and
    the first 20 described by ``example(input index, first hit)``."""
    kept = blocked = 0
    examples = []
    for start in range(0, len(raws), 2000):
        chunk = raws[start : start + 2000]
        plain = screen_batch(chunk, exact)
        fuzzy_result = screen_batch(chunk, fuzzy)
        for i in range(len(chunk)):
            if i in plain.hits:
                continue  # listed already: not the fuzzy tier's
            kept += 1
            if i in fuzzy_result.hits:
                blocked += 1
                examples.append(example(start + i, fuzzy_result.hits[i][0]))
    return {
        "kept": kept,
        "blocked": blocked,
        "rate": blocked / kept if kept else 0.0,
        "examples": examples[:20],
    }


def speed(
    exact: NameAutomaton, fuzzy: NameAutomaton, raws: Sequence[bytes], rounds: int = 5
) -> dict[str, Any]:
    """Core/orjson ratios with the fuzzy tier off and on, alternating rounds; on/off per round."""
    ratios = []
    offs, ons = [], []
    for _ in range(rounds):
        off = measure(exact, raws, rounds=1).ratio
        on = measure(fuzzy, raws, rounds=1).ratio
        offs.append(off)
        ons.append(on)
        ratios.append(on / off)
    return {
        "core_ratio_exact": round(statistics.median(offs), 4),
        "core_ratio_fuzzy": round(statistics.median(ons), 4),
        "fuzzy_over_exact": round(statistics.median(ratios), 4),
        "rounds": [round(r, 4) for r in ratios],
    }


def build_child(names: int) -> dict[str, float]:
    """In a fresh process: build the bundled lists plus ``names`` synthetic names, fuzzy on."""
    from benchmarks.synthetic_lists import synthetic_watchlist

    lists = (*load_watchlists(DEFAULT_SOURCES), synthetic_watchlist(names))
    gc.collect()
    started = time.perf_counter()
    automaton = NameAutomaton(lists)
    seconds = time.perf_counter() - started
    return {
        "names": automaton.name_count,
        "build_seconds": round(seconds, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "fuzzy_coverage": round(automaton.fuzzy_coverage, 4),
        "fuzzy_frequent": automaton.fuzzy_frequent_count,
        "keys": automaton.key_count,
    }


def run(events: int = 20_000, rounds: int = 5, every: int = 1, faker: int = 10_000) -> dict[str, Any]:
    """Every figure but the million-name build."""
    lists = load_watchlists(DEFAULT_SOURCES)
    exact = NameAutomaton(lists, fuzzy=False)
    fuzzy = NameAutomaton(lists)
    report: dict[str, Any] = {
        "coverage": {
            "names": fuzzy.name_count,
            "fuzzy": fuzzy.fuzzy_name_count,
            "share": round(fuzzy.fuzzy_coverage, 4),
            "exact_only_frequent": fuzzy.fuzzy_frequent_count,
            "anchors": fuzzy.anchor_count,
        }
    }
    for edits in (1, 2):
        report[f"recall_{edits}_edit"] = recall(fuzzy, typo_cases(lists, edits=edits, every=every))
    clean = list(EventFactory(lists, seed=42, listed_share=0.0).stream(events))
    report["traffic_false_positives"] = traffic_false_positives(exact, fuzzy, clean)
    report["ordinary_false_positives"] = ordinary_false_positives(exact, fuzzy, faker)
    raws, _ = make_events(lists, events)
    report["speed"] = speed(exact, fuzzy, raws, rounds)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and write ``results/fuzzy.json``; ``--build N`` measures the N-name build instead."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fuzzy")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--every", type=int, default=1, help="typo variants of every Nth name")
    parser.add_argument("--faker", type=int, default=10_000)
    parser.add_argument("--build", type=int, help="build N synthetic names (in a fresh process)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(build_child(args.child)))
        return 0
    if args.build:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.fuzzy", "--child", str(args.build)],
            check=True,
            capture_output=True,
            text=True,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "fuzzy-build.json").write_text(json.dumps(figures, indent=2) + "\n")
        print(json.dumps(figures, indent=2))
        return 0
    report = run(args.events, args.rounds, args.every, args.faker)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fuzzy.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
