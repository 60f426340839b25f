"""Core benchmark: the screening core against a plain ``orjson.loads`` loop over the same bytes.

Run ``python -m benchmarks.core`` (or ``make bench``). Both loops run in this process, in
alternating rounds over the same realistic events (about 500 bytes each, 1% carrying a listed
name), once for each traffic profile of ``txscreen loadgen`` (latin, multilingual), so the ratio
holds on a noisy shared machine even when absolute rates do not.
It also reports the flood case (one 900 KB event repeating a listed name 150,000 times, against a
clean event of the same size), the automaton's build time and memory for the bundled lists and, with
``--scaling``, for synthetic lists up to a million names (each size in its own process; the largest
also with the exact tier only, as ``--fuzzy off`` builds it).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from matchers.automaton import NameAutomaton
from matchers.screening import screen_batch
from matchers.sources import DEFAULT_SOURCES, load_watchlists
from matchers.watchlist import Watchlist
from streams.loadgen.synthetic import EventFactory, TrafficProfile

RESULTS = Path(__file__).resolve().parent / "results"
BATCH = 2000


@dataclass
class CoreResult:
    """One side-by-side measurement: rates are events per second, the ratio is core / orjson loop."""

    events: int
    rounds: int
    batch: int
    core_rate: float
    orjson_rate: float
    ratio: float
    round_ratios: list[float] = field(default_factory=list)
    blocked: int = 0
    planted: int = 0
    planted_blocked: int = 0
    clean_blocked: int = 0


def make_events(
    watchlists: Sequence[Watchlist],
    count: int,
    seed: int = 1,
    profile: TrafficProfile = TrafficProfile.LATIN,
) -> tuple[list[bytes], set[str]]:
    """Realistic raw events (1% listed names) of a traffic profile and the ids of those that carry a
    listed name."""
    factory = EventFactory(watchlists, seed=seed, listed_share=0.01, profile=profile)
    raws = list(factory.stream(count))
    return raws, set(factory.planted)


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(
    automaton: NameAutomaton, raws: Sequence[bytes], rounds: int = 5, batch: int = BATCH
) -> CoreResult:
    """Alternate the orjson loop and the core over ``raws``; the ratio is the median of per-round ratios."""
    loads = orjson.loads

    def baseline() -> None:
        for raw in raws:
            loads(raw)

    def core() -> None:
        for i in range(0, len(raws), batch):
            screen_batch(raws[i : i + batch], automaton)

    core()  # warm up: lazy tables, caches
    ratios, core_times, base_times = [], [], []
    for _ in range(rounds):
        base_times.append(_time(baseline))
        core_times.append(_time(core))
        ratios.append(base_times[-1] / core_times[-1])
    n = len(raws)
    return CoreResult(
        events=n,
        rounds=rounds,
        batch=batch,
        core_rate=n / statistics.median(core_times),
        orjson_rate=n / statistics.median(base_times),
        ratio=statistics.median(ratios),
        round_ratios=[round(r, 4) for r in ratios],
    )


def count_outcomes(
    automaton: NameAutomaton, raws: Sequence[bytes], planted: set[str], result: CoreResult
) -> None:
    """How many events were blocked, and how many of the planted and of the clean ones."""
    for i in range(0, len(raws), BATCH):
        chunk = raws[i : i + BATCH]
        batch = screen_batch(chunk, automaton)
        for j in batch.hits:
            result.blocked += 1
            event_id = orjson.loads(chunk[j])["id"]
            if event_id in planted:
                result.planted_blocked += 1
            else:
                result.clean_blocked += 1
    result.planted = len(planted)


#: The flood case: a remittance that repeats a listed name (HAMAS, OFAC) this many times (about 900 KB).
FLOOD_REPEATS = 150_000


def flood_events(repeats: int = FLOOD_REPEATS) -> tuple[bytes, bytes]:
    """An event whose remittance repeats a listed name, and a clean event of the same size."""

    def event(remittance: str) -> bytes:
        return orjson.dumps(
            {
                "id": "flood-1",
                "created_at": "2026-01-05T10:00:00Z",
                "amount": "1.00",
                "currency": "EUR",
                "debtor": {"name": "Maria Gonzalez"},
                "creditor": {"name": "Northwind Trading GmbH"},
                "remittance": remittance,
            }
        )

    return event("HAMAS " * repeats), event("ZZZZZ " * repeats)


def measure_flood(automaton: NameAutomaton, rounds: int = 5) -> dict[str, float]:
    """The flood event against a clean event of the same size, screened alone in alternating rounds."""
    flood, clean = flood_events()
    result = screen_batch([flood], automaton)
    flood_times, clean_times, ratios = [], [], []
    for _ in range(rounds):
        clean_times.append(_time(lambda: screen_batch([clean], automaton)))
        flood_times.append(_time(lambda: screen_batch([flood], automaton)))
        ratios.append(flood_times[-1] / clean_times[-1])
    return {
        "event_bytes": len(flood),
        "flood_seconds": statistics.median(flood_times),
        "clean_seconds": statistics.median(clean_times),
        "ratio": statistics.median(ratios),
        "record_bytes": len(result.values[0]),
        "hits_listed": len(result.hits[0]),
        "hits_total": result.hits_total[0],
    }


def machine() -> str:
    """CPU model, core count and Python version, for the report."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scaling_child(names: int, events: int, rounds: int, *, fuzzy: bool = True) -> dict[str, float]:
    """In a fresh process: build an automaton over a synthetic list of ``names`` names and measure it
    (``fuzzy``: with the fuzzy tier, the default, or exact-only as ``--fuzzy off``)."""
    from benchmarks.synthetic_lists import synthetic_watchlist

    lists = (
        (*load_watchlists(DEFAULT_SOURCES), synthetic_watchlist(names))
        if names
        else load_watchlists(DEFAULT_SOURCES)
    )
    gc.collect()
    before = peak_rss_mb()
    automaton = NameAutomaton(lists, fuzzy=fuzzy)
    gc.collect()
    gc.freeze()
    built_peak = peak_rss_mb()
    raws, _ = make_events(lists[:3], events)
    result = measure(automaton, raws, rounds=rounds)
    return {
        "synthetic_names": names,
        "listed_names": automaton.name_count,
        "keys": automaton.key_count,
        "build_seconds": automaton.build_seconds,
        "build_peak_rss_mb": built_peak,
        "build_rss_delta_mb": built_peak - before,
        "core_rate": result.core_rate,
        "orjson_rate": result.orjson_rate,
        "ratio": result.ratio,
    }


def startup_child(folder: str) -> dict[str, object]:
    """In a fresh process: load the bundled lists and build the automaton as ``txscreen`` starts up, with the
    build cache in ``folder`` (``off``: none); wall and CPU seconds, imports excluded."""
    from streams.lists import load_automaton
    from streams.settings import FuzzyChoice

    cache = None if folder == "off" else Path(folder)
    wall, cpu = time.perf_counter(), time.process_time()
    automaton = load_automaton(None, fuzzy=FuzzyChoice(cache=cache), report=None)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"seconds": wall, "cpu_seconds": cpu, "keys": automaton.key_count, "peak_rss_mb": peak_rss_mb()}


def measure_startup(rounds: int) -> dict[str, object]:
    """Start-up with the bundled lists, each round in a fresh process: cold (no build cache), the run that
    writes the cache, and warm (read back from it); medians of wall and CPU seconds."""
    import tempfile

    def child(folder: str) -> dict[str, float]:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.core", "--startup-child", folder],
            check=True,
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        row: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
        return row

    def median(rows: list[dict[str, float]]) -> dict[str, float]:
        return {
            key: statistics.median(r[key] for r in rows) for key in ("seconds", "cpu_seconds", "peak_rss_mb")
        }

    with tempfile.TemporaryDirectory(prefix="txscreen-bench-cache-") as folder:
        cold = [child("off") for _ in range(rounds)]
        writing = child(folder)
        warm = [child(folder) for _ in range(rounds)]
    return {"rounds": rounds, "cold": median(cold), "writing": writing, "warm": median(warm)}


def run_scaling(
    sizes: Sequence[int], events: int, rounds: int, *, fuzzy: bool = True
) -> list[dict[str, float]]:
    """Each list size in its own process, so memory figures do not mix."""
    rows = []
    for names in sizes:
        tier = "" if fuzzy else ", exact tier only"
        print(f"  scaling: {names:,} synthetic names{tier} …", file=sys.stderr, flush=True)
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.core",
                "--scaling-child",
                str(names),
                "--events",
                str(events),
                "--rounds",
                str(rounds),
                "--scaling-fuzzy",
                "on" if fuzzy else "off",
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def markdown(report: dict[str, object]) -> str:
    """The report as a markdown table."""
    core = report["core"]
    assert isinstance(core, dict)
    lines = [
        f"### Core benchmark — {report['date']} on {report['machine']}",
        "",
        "| measure | value |",
        "|---|---|",
        f"| events (≈{report['avg_event_bytes']:.0f} bytes, 1% listed) | {core['events']:,} |",
        f"| screening core, latin profile | {core['core_rate']:,.0f} events/s |",
        f"| plain orjson.loads loop, latin profile | {core['orjson_rate']:,.0f} events/s |",
        f"| **ratio core / orjson, latin** (median of {core['rounds']} rounds) | **{core['ratio']:.3f}** |",
    ]
    multi = report.get("multilingual")
    if isinstance(multi, dict):
        lines += [
            f"| screening core, multilingual profile | {multi['core_rate']:,.0f} events/s |",
            f"| plain orjson.loads loop, multilingual profile | {multi['orjson_rate']:,.0f} events/s |",
            f"| **ratio core / orjson, multilingual** (median of {multi['rounds']} rounds) | "
            f"**{multi['ratio']:.3f}** |",
        ]
    lines += [
        f"| automaton build, bundled lists ({report['keys']:,} keys) | {report['build_seconds']:.2f} s |",
        f"| peak memory after build | {report['build_peak_rss_mb']:.0f} MiB |",
        *_startup_lines(report.get("startup")),
        f"| planted listed names blocked | {core['planted_blocked']} of {core['planted']} |",
        f"| clean events blocked (real name collisions) | {core['clean_blocked']} |",
    ]
    flood = report.get("flood")
    if isinstance(flood, dict):
        lines += [
            f"| flood: one {flood['event_bytes'] / 1e3:,.0f} KB event repeating HAMAS "
            f"{flood['hits_total']:,} times | {flood['flood_seconds'] * 1e3:,.0f} ms, "
            f"**{flood['ratio']:.0f}×** a clean event of that size ({flood['clean_seconds'] * 1e3:.1f} ms) |",
            f"| flood: blocked record | {flood['record_bytes'] / 1e3:,.0f} KB, {flood['hits_listed']} hits "
            f"listed of {flood['hits_total']:,} |",
        ]
    for key, tier in (("scaling", "fuzzy tier on"), ("scaling_exact", "exact tier only (`--fuzzy off`)")):
        lines += _scaling_lines(report.get(key), tier)
    return "\n".join(lines) + "\n"


def _scaling_lines(scaling: object, tier: str) -> list[str]:
    """The list-size scaling table of one tier setting (none without rows)."""
    if not isinstance(scaling, list) or not scaling:
        return []
    base = scaling[0]["ratio"]
    lines = [
        "",
        f"| synthetic names, {tier} | keys | build | peak RSS | core ratio | vs bundled lists only |",
        "|---|---|---|---|---|---|",
    ]
    for row in scaling:
        lines.append(
            f"| {row['synthetic_names']:,} | {row['keys']:,} | {row['build_seconds']:.1f} s | "
            f"{row['build_peak_rss_mb']:.0f} MiB | {row['ratio']:.3f} | {row['ratio'] / base:.2f}× |"
        )
    return lines


def _startup_lines(startup: object) -> list[str]:
    """The start-up rows: cold, writing the build cache, and warm (read back from it)."""
    if not isinstance(startup, dict):
        return []
    rows = []
    for key, label in (
        ("cold", "no build cache"),
        ("writing", "writing the build cache"),
        ("warm", "from the build cache"),
    ):
        row = startup[key]
        rows.append(
            f"| start-up: bundled lists loaded and automaton built, {label} (fresh process) | "
            f"{row['seconds']:.2f} s wall, {row['cpu_seconds']:.2f} s CPU |"
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the core benchmark and write benchmarks/results/core.json and core.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--scaling", default="", help="comma-separated synthetic list sizes, e.g. 1000,20000,200000,1000000"
    )
    parser.add_argument(
        "--scaling-exact",
        choices=("largest", "none"),
        default="largest",
        help="also measure the largest scaling size exact-only (--fuzzy off; with the bundled lists alone as"
        " its base), or not",
    )
    parser.add_argument("--scaling-child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--scaling-fuzzy", choices=("on", "off"), default="on", help=argparse.SUPPRESS)
    parser.add_argument("--startup-child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--startup-rounds", type=int, default=3, help="fresh processes per start-up measure")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.scaling_child is not None:
        fuzzy = args.scaling_fuzzy == "on"
        print(json.dumps(scaling_child(args.scaling_child, args.events, args.rounds, fuzzy=fuzzy)))
        return 0
    if args.startup_child is not None:
        print(json.dumps(startup_child(args.startup_child)))
        return 0

    lists = load_watchlists(DEFAULT_SOURCES)
    automaton = NameAutomaton(lists)
    gc.collect()
    gc.freeze()
    raws, planted = make_events(lists, args.events)
    print(f"core benchmark: {len(raws):,} events, {args.rounds} rounds …", file=sys.stderr, flush=True)
    result = measure(automaton, raws, rounds=args.rounds)
    count_outcomes(automaton, raws, planted, result)
    multi_raws, multi_planted = make_events(lists, args.events, profile=TrafficProfile.MULTILINGUAL)
    print("core benchmark: multilingual profile …", file=sys.stderr, flush=True)
    multi = measure(automaton, multi_raws, rounds=args.rounds)
    count_outcomes(automaton, multi_raws, multi_planted, multi)
    flood = measure_flood(automaton, rounds=args.rounds)
    report: dict[str, object] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": machine(),
        "avg_event_bytes": sum(map(len, raws)) / len(raws),
        "keys": automaton.key_count,
        "build_seconds": automaton.build_seconds,
        "build_peak_rss_mb": peak_rss_mb(),
        "core": asdict(result),
        "multilingual": asdict(multi),
        "flood": flood,
        "startup": measure_startup(args.startup_rounds),
        "scaling": [],
        "scaling_exact": [],
    }
    if args.scaling:
        sizes = [0, *(int(s) for s in args.scaling.split(","))]
        report["scaling"] = run_scaling(sizes, min(args.events, 20_000), args.rounds)
        if args.scaling_exact == "largest" and max(sizes):
            exact = [0, max(sizes)]
            report["scaling_exact"] = run_scaling(exact, min(args.events, 20_000), args.rounds, fuzzy=False)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "core.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (args.out / "core.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
