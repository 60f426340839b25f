"""The periodic status line and the closing summary."""

from __future__ import annotations

import logging

import pytest

from streams.status import StatusLine, Totals
from tests.unit.streams.fakes import LaggingConsumer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_status_line_reports_rate_counts_and_lag_every_interval() -> None:
    """One line every N seconds: events/s over the window, counts per output, lag, batches and aborts."""
    clock = Clock()
    totals = Totals(("cleared", "blocked", "dead-lettered"))
    line = StatusLine(totals, 10.0, clock=clock)
    assert not line.due()
    totals.first_batch_at = 100.0
    totals.add({"cleared": 18_000, "blocked": 1_500, "dead-lettered": 500}, 20_000, at=104.0)
    clock.now = 110.0
    assert line.due()
    text = line.line(lag=1234)
    assert text == (
        "status: 2,000 events/s; cleared 18,000, blocked 1,500, dead-lettered 500; lag 1,234; "
        "1 batches, 0 aborted"
    )
    assert not line.due()
    assert "lag unknown" in line.line(lag=None)


def test_zero_interval_turns_the_status_line_off() -> None:
    """--status-interval 0: never due."""
    clock = Clock()
    line = StatusLine(Totals(("copied",)), 0.0, clock=clock)
    clock.now += 1e6
    assert not line.due()


def test_summary_rate_counts_only_the_busy_time() -> None:
    """Start-up and the idle wait at the end do not dilute the events/s of the summary."""
    totals = Totals(("copied",))
    totals.first_batch_at = 50.0
    totals.add({"copied": 1000}, 1000, at=52.0)
    assert totals.events_per_second == 500.0
    assert "processed 1,000 events in 2.00 s" in StatusLine(totals, 1.0, clock=Clock()).summary()


def test_an_idle_window_asks_the_broker_for_the_lag(caplog: pytest.LogCaptureFixture) -> None:
    """After a window without events the lag comes from the broker (a stalled fetch's cached ends say 0);
    while events flow it comes from the ends the fetches brought, with no broker call."""
    clock = Clock()
    totals = Totals(("cleared",))
    line = StatusLine(totals, 10.0, clock=clock)
    consumer = LaggingConsumer()
    caplog.set_level(logging.INFO, logger="streams.status")
    totals.add({"cleared": 5}, 5, at=101.0)
    clock.now = 110.0
    line.report(consumer)  # type: ignore[arg-type]
    clock.now = 120.0
    line.report(consumer)  # type: ignore[arg-type]
    lags = [r.getMessage().split("; lag ")[1].split(";")[0] for r in caplog.records]
    assert lags == ["0", "40"]
    assert consumer.asked_broker == 1
