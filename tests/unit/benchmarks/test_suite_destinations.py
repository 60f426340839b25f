"""Where the benchmark suite writes: full runs to the tracked results, quick runs elsewhere."""

from __future__ import annotations

import subprocess
from pathlib import Path

from benchmarks.core import RESULTS
from benchmarks.suite import QUICK_RESULTS, README, destinations

REPO = Path(__file__).resolve().parents[3]


def test_quick_run_writes_to_the_ignored_quick_folder_and_leaves_the_readme() -> None:
    """BENCH_QUICK=1 goes to benchmarks/results/quick/ and updates no README, whatever --no-readme says."""
    assert destinations(quick=True, out=None, no_readme=False) == (QUICK_RESULTS, None)
    assert QUICK_RESULTS != RESULTS
    assert QUICK_RESULTS.parent == RESULTS


def test_full_run_writes_the_tracked_results_and_the_readme() -> None:
    """A full run writes benchmarks/results/ and the README's results section, unless --no-readme."""
    assert destinations(quick=False, out=None, no_readme=False) == (RESULTS, README)
    assert destinations(quick=False, out=None, no_readme=True) == (RESULTS, None)


def test_an_explicit_out_folder_wins(tmp_path: Path) -> None:
    """--out is honoured in both plans; a quick run still leaves the README alone."""
    assert destinations(quick=True, out=tmp_path, no_readme=False) == (tmp_path, None)
    assert destinations(quick=False, out=tmp_path, no_readme=False) == (tmp_path, README)


def test_git_ignores_the_quick_results() -> None:
    """A file written by a quick run is ignored by git, so it can never be committed by accident."""
    probe = QUICK_RESULTS.relative_to(REPO) / "suite.json"
    done = subprocess.run(["git", "check-ignore", "--quiet", "--no-index", str(probe)], cwd=REPO, check=False)
    assert done.returncode == 0, f"{probe} is not ignored by git"
