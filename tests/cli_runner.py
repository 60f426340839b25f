"""Run the ``txscreen`` command in a fresh interpreter, as a user would (shared by the test tiers)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_txscreen(
    *args: str, stdin: bytes | None = None, timeout: float = 180.0, clean_env: bool = False
) -> subprocess.CompletedProcess[str]:
    """``txscreen ARGS`` in the repository; ``clean_env`` drops every TXSCREEN_* variable first."""
    env = {k: v for k, v in os.environ.items() if not (clean_env and k.startswith("TXSCREEN_"))}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=timeout,
        check=False,
    )
