"""The console's page data without a server: highlights, four-eyes words, queue, CSV, sessions, live."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from streams.review.console.live import WINDOW_SECONDS, WorkerScraper, parse_metrics, rate_chart
from streams.review.console.sessions import Sessions, same_token
from streams.review.console.views import (
    QueueQuery,
    QueueRow,
    four_eyes,
    highlight,
    queue_csv,
    screened_fields,
    select,
)


def test_highlight_marks_spans_and_merges_overlaps() -> None:
    """Hit spans become marked segments; overlapping and nested spans merge; the text is kept whole."""
    text = "pay Globex Corporation now"
    segments = highlight(text, [(4, 10), (4, 22), (30, 40)])
    assert segments == [("pay ", False), ("Globex Corporation", True), (" now", False)]
    assert "".join(s for s, _ in segments) == text
    assert highlight("", []) == [("", False)]


def test_screened_fields_carry_hostile_text_unchanged() -> None:
    """A field's text reaches the template as data (the template escapes it), with its hit marked."""
    event = {"debtor": {"name": "<script>alert(1)</script>"}, "creditor": {"name": "Globex"}, "remittance": 5}
    hits = [{"field": "creditor.name", "start": 0, "end": 6}]
    fields = {f.name: f for f in screened_fields(event, hits)}
    assert fields["debtor.name"].segments == [("<script>alert(1)</script>", False)]
    assert fields["creditor.name"].segments == [("Globex", True)]
    assert "remittance" not in fields  # not a string: not shown as a screened text


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ({"status": "open"}, "Open: nobody has proposed a decision yet."),
        (
            {
                "status": "pending",
                "proposal": {"actor": "alice", "action": "propose-release"},
                "approvers": [],
            },
            "Release proposed by alice; waiting for a second approver.",
        ),
        (
            {
                "status": "pending",
                "proposal": {"actor": "a", "action": "propose-confirm"},
                "approvers": ["b"],
            },
            "Confirmation of the block proposed by a, approved by b; waiting for 1 more approver.",
        ),
    ],
)
def test_four_eyes_state_in_plain_words(case: dict[str, object], expected: str) -> None:
    """The four-eyes state reads as a sentence naming who proposed and what is still needed."""
    approvals = 3 if case.get("approvers") else 2
    assert four_eyes(case, approvals) == expected


def _row(case_id: str, age: float, amount: str, lists: tuple[str, ...], status: str = "open") -> QueueRow:
    return QueueRow(
        case_id, f"ev-{case_id}", status, age, Decimal(amount), "EUR", "Jane", "=HYPERLINK(1)", lists,
        (("acme:globex", "Globex Corporation"),), None,
    )  # fmt: skip


def test_queue_filters_searches_and_sorts() -> None:
    """Status, list, entity and search filter the rows; age, amount and list sort them."""
    rows = [
        _row("1", 10, "5", ("un",)),
        _row("2", 30, "900", ("ofac",)),
        _row("3", 20, "50", ("un",), "released"),
    ]
    assert [r.case_id for r in select(rows, QueueQuery.parse({}))] == ["2", "1"]
    assert [r.case_id for r in select(rows, QueueQuery.parse({"sort": "amount", "dir": "asc"}))] == ["1", "2"]
    assert [r.case_id for r in select(rows, QueueQuery.parse({"list": "un"}))] == ["1"]
    assert [r.case_id for r in select(rows, QueueQuery.parse({"status": "released"}))] == ["3"]
    assert [r.case_id for r in select(rows, QueueQuery.parse({"q": "EV-2"}))] == ["2"]
    assert len(select(rows, QueueQuery.parse({"entity": "acme:globex"}))) == 2
    assert QueueQuery.parse({"sort": "drop table", "status": "bogus"}).sort == "age"


def test_csv_export_neutralises_formulas() -> None:
    """A cell that would start a spreadsheet formula is written with a leading quote."""
    text = queue_csv([_row("1", 10, "5", ("un",))])
    header, row = list(csv.reader(io.StringIO(text)))
    assert row[header.index("creditor")] == "'=HYPERLINK(1)"
    assert row[header.index("amount")] == "5"


def test_sessions_expire_and_tokens_compare_safely() -> None:
    """A session ends at its expiry or at logout; empty tokens never match."""
    now = [1000.0]
    sessions = Sessions(clock=lambda: now[0], lifetime=60)
    session = sessions.create("alice")
    assert sessions.get(session.session_id) is session
    now[0] += 61
    assert sessions.get(session.session_id) is None
    other = sessions.create("bob")
    sessions.drop(other.session_id)
    assert sessions.get(other.session_id) is None
    assert same_token(other.csrf, other.csrf)
    assert not same_token("", "")
    assert not same_token(None, other.csrf)


METRICS = """\
# TYPE txscreen_events_total counter
txscreen_events_total{verdict="cleared"} 90.0
txscreen_events_total{verdict="blocked"} 10.0
txscreen_dead_letters_total{reason="not-json"} 2.0
txscreen_consumer_lag{partition="0",topic="payments"} 3.0
txscreen_watchlist_info{version="sha256:abc"} 1.0
txscreen_watchlist_loaded_timestamp_seconds 1000.0
"""


def test_live_view_sums_the_workers_and_charts_the_rate() -> None:
    """Scraped workers add up per verdict; one that does not answer shows as down; the rate is charted."""
    now = [10_000.0]
    pages = {"http://w1": METRICS}

    def fetch(url: str) -> str:
        if url not in pages:
            raise OSError("connection refused")
        return pages[url]

    scraper = WorkerScraper(["http://w1", "http://w2"], fetch=fetch, clock=lambda: now[0])
    scraper.scrape_once()
    now[0] += 10
    pages["http://w1"] = METRICS.replace("90.0", "190.0")
    scraper.scrape_once()
    view = scraper.view()
    assert view.events == {"cleared": 190.0, "blocked": 10.0}
    assert view.dead_letters == {"not-json": 2.0}
    assert view.lag == {("payments", "0"): 3.0}
    assert view.versions == {"sha256:abc": 1000.0}
    assert [w.up for w in view.workers] == [True, False]
    assert view.rate_now == pytest.approx(10.0)
    assert view.rate_points


def test_rate_chart_ignores_counter_resets_and_old_points() -> None:
    """A restarted worker's counters never chart a negative rate."""
    points, now, top = rate_chart([(0.0, 100.0), (10.0, 0.0), (20.0, 50.0)], WINDOW_SECONDS)
    assert now == 5.0
    assert top == 5.0
    assert points.count(",") == 2
    assert parse_metrics("u", "", 0.0).up
