"""What each list file loads, and the automaton over them all: ``python -m benchmarks.list_formats SRC...``.

Loads the sources given (the bundled lists by default) as ``--watchlist`` does, prints one line per list
(entities, names, weak names), then builds the automaton over all of them and prints the load time, the
build time and the process's peak RSS. With ``--baseline`` it first builds the bundled lists alone in a
separate process, so the figures can be read as a ratio measured side by side (absolute times on a
shared machine are noise). The README's *Watchlists* figures come from this script.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

from matchers.automaton import NameAutomaton
from matchers.sources import DEFAULT_SOURCES, describe, load_watchlists


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(sources: list[str]) -> str:
    """Load and build; the report as text."""
    started = time.perf_counter()
    watchlists = load_watchlists(sources)
    loaded = time.perf_counter() - started
    automaton = NameAutomaton(watchlists)
    return (
        f"{describe(watchlists)}\n"
        f"{automaton.name_count:,} names, {automaton.key_count:,} keys: loaded in {loaded:.1f} s, "
        f"built in {automaton.build_seconds:.1f} s, peak RSS {_peak_mib():.0f} MiB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.list_formats", description=__doc__)
    parser.add_argument(
        "sources", nargs="*", metavar="SRC", help="watchlist sources (default: the bundled lists)"
    )
    parser.add_argument("--baseline", action="store_true", help="first measure the bundled lists alone")
    args = parser.parse_args()
    if args.baseline:
        bundled = subprocess.run(
            [sys.executable, "-m", "benchmarks.list_formats"], capture_output=True, text=True, check=True
        )
        print("bundled lists alone:", bundled.stdout.strip().splitlines()[-1])
    print(measure(args.sources or list(DEFAULT_SOURCES)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
