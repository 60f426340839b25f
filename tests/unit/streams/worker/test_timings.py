"""The loop's per-phase timings (txscreen -v): kept only when asked for, summarised per phase."""

from __future__ import annotations

import gc

from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME, Message

from streams.worker.timings import LoopTimings


def test_timings_are_kept_and_summarised_per_phase_when_enabled() -> None:
    """Each phase's seconds are counted per batch, and the summary gives one line per phase that ran."""
    timings = LoopTimings(enabled=True)
    try:
        for seconds in (0.001, 0.002, 0.003):
            timings.add("commit", seconds)
        with timings.phase("screen"):
            pass
        timings.ages([Message(value=b"{}", timestamp=(TIMESTAMP_LOG_APPEND_TIME, 1))])
        summary = timings.summary()
    finally:
        timings.close()
    assert timings.seconds("commit") == [0.001, 0.002, 0.003]
    assert len(timings.seconds("screen")) == 1
    assert len(timings.seconds("age newest")) == 1
    lines = {line.split()[0]: line.split() for line in summary.splitlines()[1:]}
    assert lines["commit"][1] == "3"  # batches
    assert lines["commit"][3] == "2.0"  # p50 in ms
    assert "offsets" not in lines  # a phase that never ran is left out


def test_disabled_timings_keep_nothing_and_leave_the_collector_alone() -> None:
    """Without DEBUG nothing is recorded and no garbage-collector callback is installed."""
    callbacks = list(gc.callbacks)
    timings = LoopTimings(enabled=False)
    timings.add("commit", 0.5)
    with timings.phase("screen"):
        pass
    assert timings.seconds("commit") == []
    assert timings.seconds("screen") == []
    assert gc.callbacks == callbacks


def test_enabled_timings_count_collector_pauses_until_closed() -> None:
    """Enabled timings time each garbage collection; closing removes their callback."""
    timings = LoopTimings(enabled=True)
    gc.collect()
    timings.close()
    assert timings.seconds("gc full")
    assert timings._on_gc not in gc.callbacks
