"""The whole-process benchmark times real `txscreen screen` and orjson-loop processes and reports a ratio."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import whole_process


@pytest.mark.slow
def test_whole_process_reports_startup_and_a_ratio(tmp_path: Path) -> None:
    """A tiny run writes the profile's row: start-up measured apart, ratio = loop time / screen time, for
    the default two threads and for one, and the CPU times beside them."""
    argv = ["--events", "300", "--rounds", "1", "--profiles", "multilingual", "--out", str(tmp_path)]
    assert whole_process.main(argv) == 0
    (row,) = json.loads((tmp_path / "whole_process.json").read_text())["profiles"]
    assert (row["profile"], row["events"]) == ("multilingual", 300)
    assert row["screen_startup_s"] > 0
    assert row["loop_startup_s"] > 0
    assert row["ratio"] == pytest.approx(row["loop_s"] / row["screen_s"])
    assert row["ratio"] == pytest.approx(row["round_ratios"][0], abs=1e-4)
    # 300 events take less than the start-up's noise: the times may come out at or below zero, not the ratios'
    assert row["one_thread_ratio"] == pytest.approx(row["loop_s"] / row["one_thread_s"])
    assert row["cpu_ratio"] == pytest.approx(row["loop_cpu_s"] / row["screen_cpu_s"])
    assert "ratio loop / screen" in (tmp_path / "whole_process.md").read_text()
