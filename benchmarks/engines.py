"""Engines benchmark: the core on the native fast path and on pure Python, side by side.

Run ``python -m benchmarks.engines``. The core benchmark's events and batches
(:mod:`benchmarks.core`), screened by two automata over the same lists, one per engine
(:mod:`matchers.backend`), and the plain ``orjson.loads`` loop, in alternating rounds in one
process: the slowdown is the median of per-round ratios, native time / pure time. It is the
figure behind ``matchers.backend.PURE_SLOWDOWN`` ("pure Python: about N× slower").
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson

from benchmarks.core import BATCH, RESULTS, machine, make_events
from matchers import backend
from matchers.automaton import NameAutomaton
from matchers.screening import screen_batch
from matchers.sources import DEFAULT_SOURCES, load_watchlists


def _seconds(automaton: NameAutomaton | None, raws: Sequence[bytes]) -> float:
    """One pass over ``raws``: screened in batches by ``automaton``, or the orjson loop (``None``)."""
    start = time.perf_counter()
    if automaton is None:
        loads = orjson.loads
        for raw in raws:
            loads(raw)
    else:
        for i in range(0, len(raws), BATCH):
            screen_batch(raws[i : i + BATCH], automaton)
    return time.perf_counter() - start


def measure(events: int, rounds: int) -> dict[str, object]:
    """Both engines and the orjson loop over the same events, alternating; ratios per round."""
    native = backend.native_engine()
    if native is None:
        raise SystemExit(
            f"engines benchmark: the native fast path is not built ({backend.GET_THE_FAST_PATH})"
        )
    lists = load_watchlists(DEFAULT_SOURCES)
    automata = {
        "native": NameAutomaton(lists, using=native),
        "pure": NameAutomaton(lists, using=backend.PURE),
    }
    gc.collect()
    gc.freeze()
    raws, _ = make_events(lists, events)
    now = datetime.now(UTC)  # warm up (lazy tables, caches), and check that both give the same records
    native_values, pure_values = (screen_batch(raws[:BATCH], a, now).values for a in automata.values())
    if native_values != pure_values:
        raise SystemExit("engines benchmark: the two engines disagree; run the unit tests")
    times: dict[str, list[float]] = {"orjson": [], "native": [], "pure": []}
    for k in range(rounds):
        order = ["orjson", "native", "pure"] if k % 2 == 0 else ["pure", "native", "orjson"]
        for name in order:
            times[name].append(_seconds(automata.get(name), raws))
    slowdowns = [p / n for p, n in zip(times["pure"], times["native"], strict=True)]
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": machine(),
        "events": len(raws),
        "rounds": rounds,
        "batch": BATCH,
        "rates": {name: len(raws) / statistics.median(t) for name, t in times.items()},
        "native_vs_orjson": statistics.median(
            o / n for o, n in zip(times["orjson"], times["native"], strict=True)
        ),
        "pure_vs_orjson": statistics.median(
            o / p for o, p in zip(times["orjson"], times["pure"], strict=True)
        ),
        "pure_slowdown": statistics.median(slowdowns),
        "round_slowdowns": [round(s, 3) for s in slowdowns],
    }


def markdown(report: dict[str, object]) -> str:
    """The report as a small markdown table."""
    rates = report["rates"]
    assert isinstance(rates, dict)
    return "\n".join(
        [
            f"Engines, {report['events']:,} events, {report['rounds']} rounds, {report['date']}, "
            f"{report['machine']}",
            "",
            "| engine | events/s | vs orjson loop |",
            "|---|---:|---:|",
            f"| native fast path | {rates['native']:,.0f} | {report['native_vs_orjson']:.2f}× |",
            f"| pure Python (pyahocorasick) | {rates['pure']:,.0f} | {report['pure_vs_orjson']:.2f}× |",
            f"| orjson loop | {rates['orjson']:,.0f} | 1.00× |",
            "",
            f"Pure Python is {report['pure_slowdown']:.1f}× slower than the native fast path "
            f"(median of rounds: {report['round_slowdowns']}).",
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the engines benchmark and write benchmarks/results/engines.json and engines.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    report = measure(args.events, args.rounds)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "engines.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (args.out / "engines.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
