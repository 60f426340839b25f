"""Whole-process benchmark: ``txscreen screen FILE --out DIR`` against an orjson loop over the same file.

Run ``python -m benchmarks.whole_process``. For each traffic profile of ``txscreen loadgen`` (latin,
multilingual) it writes a JSON Lines file of events (1% listed names), then times, in alternating
rounds, two fresh processes as a user runs them:

* ``txscreen screen FILE --out DIR``: reading, screening and writing the three output files, as a user
  runs it (``--threads 2``, the default: the next batch's native triage on a second thread);
* the same with ``--threads 1``: everything on one thread, as the orjson loop runs;
* a plain loop in a fresh Python: ``orjson.loads`` of every line of the same file.

Start-up is measured apart, each process on an empty file (for ``txscreen screen``: imports, loading
the bundled lists and the automaton from the build cache, which an unrecorded first start-up writes;
for the loop: the interpreter and orjson), and taken off
both times; the ratio is loop time over screen time, start-up excluded (median of per-round ratios).
Wall time is what a user waits for; the CPU time of each process (user + system, start-up off) is
reported beside it, so that the second thread's share is in plain sight: the ``cpu_ratio`` is the
loop's CPU time over the default screen's.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.core import RESULTS, machine

#: The loop the screen process is compared with: parse every line, nothing else.
ORJSON_LOOP = "import orjson, sys\nfor line in open(sys.argv[1], 'rb'):\n    orjson.loads(line)\n"


@dataclass
class WholeResult:
    """One profile's measurement; seconds are medians, the ratio is loop / screen (start-up excluded)."""

    profile: str
    events: int
    rounds: int
    screen_startup_s: float
    loop_startup_s: float
    screen_s: float
    loop_s: float
    ratio: float
    round_ratios: list[float] = field(default_factory=list)
    one_thread_s: float = 0.0
    """``--threads 1``, start-up off."""
    one_thread_ratio: float = 0.0
    screen_cpu_s: float = 0.0
    """CPU time (user + system) of the default screen, start-up off; ``loop_cpu_s`` the loop's."""
    loop_cpu_s: float = 0.0
    cpu_ratio: float = 0.0


def _txscreen() -> list[str]:
    """The ``txscreen`` console script of this interpreter's environment (or ``python -m``)."""
    script = Path(sys.executable).with_name("txscreen")
    return [str(script)] if script.exists() else [sys.executable, "-m", "streams.cli"]


@dataclass(frozen=True)
class Timing:
    """One process: wall seconds and CPU seconds (user + system)."""

    wall: float
    cpu: float

    def __sub__(self, other: Timing) -> Timing:
        return Timing(self.wall - other.wall, self.cpu - other.cpu)


def _timed(argv: Sequence[str]) -> Timing:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Timing(wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)


def _screen(path: Path, out: Path, threads: int = 2) -> Timing:
    shutil.rmtree(out, ignore_errors=True)
    return _timed([*_txscreen(), "screen", str(path), "--out", str(out), "--threads", str(threads)])


def _loop(path: Path) -> Timing:
    return _timed([sys.executable, "-c", ORJSON_LOOP, str(path)])


def _median(timings: Sequence[Timing]) -> Timing:
    return Timing(statistics.median(t.wall for t in timings), statistics.median(t.cpu for t in timings))


def measure(profile: str, events: int, rounds: int, work: Path) -> WholeResult:
    """Write the profile's events to a file and time both processes on it and on an empty file."""
    data, empty, out = work / f"{profile}.jsonl", work / "empty.jsonl", work / "out"
    empty.write_bytes(b"")
    subprocess.run(
        [
            *_txscreen(),
            "loadgen",
            "--count",
            str(events),
            "--profile",
            profile,
            "--seed",
            "1",
            "--pool",
            str(events),
            "--out",
            str(data),
        ],
        check=True,
        stderr=subprocess.DEVNULL,
    )
    _screen(empty, out)  # unrecorded: writes the build cache (if missing), which every start-up then reads
    screen_startup = _median([_screen(empty, out) for _ in range(rounds)])
    loop_startup = _median([_loop(empty) for _ in range(rounds)])
    screens, ones, loops = [], [], []
    for _ in range(rounds):
        loops.append(_loop(data) - loop_startup)
        screens.append(_screen(data, out) - screen_startup)
        ones.append(_screen(data, out, threads=1) - screen_startup)
    ratios = [loop.wall / screen.wall for loop, screen in zip(loops, screens, strict=True)]
    screen, one, loop = _median(screens), _median(ones), _median(loops)
    return WholeResult(
        profile=profile,
        events=events,
        rounds=rounds,
        screen_startup_s=screen_startup.wall,
        loop_startup_s=loop_startup.wall,
        screen_s=screen.wall,
        loop_s=loop.wall,
        ratio=statistics.median(ratios),
        round_ratios=[round(r, 4) for r in ratios],
        one_thread_s=one.wall,
        one_thread_ratio=statistics.median(lp.wall / o.wall for lp, o in zip(loops, ones, strict=True)),
        screen_cpu_s=screen.cpu,
        loop_cpu_s=loop.cpu,
        cpu_ratio=statistics.median(lp.cpu / sc.cpu for lp, sc in zip(loops, screens, strict=True)),
    )


def markdown(report: dict[str, object]) -> str:
    """The report as a markdown table."""
    rows = report["profiles"]
    assert isinstance(rows, list)
    lines = [
        f"### Whole-process benchmark — {report['date']} on {report['machine']}",
        "",
        "| profile | events | `txscreen screen` start-up | screen (start-up off) | orjson loop "
        "(start-up off) | **ratio loop / screen** | `--threads 1`: time, ratio | CPU time: screen, loop, "
        "ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['profile']} | {row['events']:,} | {row['screen_startup_s']:.2f} s | "
            f"{row['screen_s']:.2f} s ({row['events'] / row['screen_s']:,.0f} events/s) | "
            f"{row['loop_s']:.2f} s | **{row['ratio']:.3f}** | "
            f"{row.get('one_thread_s', 0.0):.2f} s, {row.get('one_thread_ratio', 0.0):.3f} | "
            f"{row.get('screen_cpu_s', 0.0):.2f} s, {row.get('loop_cpu_s', 0.0):.2f} s, "
            f"{row.get('cpu_ratio', 0.0):.3f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the whole-process benchmark and write results/whole_process.json and .md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profiles", default="latin,multilingual")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="txscreen-whole-") as tmp:
        rows = []
        for profile in args.profiles.split(","):
            print(f"whole process: {profile}, {args.events:,} events …", file=sys.stderr, flush=True)
            rows.append(asdict(measure(profile, args.events, args.rounds, Path(tmp))))
    report: dict[str, object] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": machine(),
        "profiles": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "whole_process.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (args.out / "whole_process.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
