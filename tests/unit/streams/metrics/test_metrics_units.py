"""Metrics without a broker: reason classes, the registry's counting, the health routes."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from matchers.automaton import NameAutomaton
from matchers.screening import screen_batch
from matchers.sources import load_watchlists
from schemas.errors import ConfigError
from streams.metrics.reasons import REASON_CLASSES, reason_class
from streams.metrics.registry import ReviewMetrics, WorkerMetrics
from streams.metrics.server import Health, ListenAddress, health_app, parse_listen
from streams.outputs import Counts

REPO = Path(__file__).resolve().parents[4]
MALFORMED = [
    b"",
    None,
    b"\xff\xfe binary",
    b'{"id": "x", ',
    b"[1, 2]",
    b'{"id": "a", "id": "b"}',
    b"[" * 100 + b"]" * 100,
    b'{"id": "x", "created_at": "2021-01-01T00:00:00Z", "amount": "1", "currency": "usd",'
    b' "debtor": {"name": "A"}, "creditor": {"name": "B"}}',
    b'{"id": "x", "created_at": "2021-01-01T00:00:00Z", "amount": "one", "currency": "USD",'
    b' "debtor": {"name": "A"}, "creditor": {"name": "B"}}',
    b'{"id": "x", "created_at": "2021-01-01T00:00:00Z", "amount": "1", "currency": "USD",'
    b' "debtor": {"name": "  "}, "creditor": {"name": "B"}}',
    b'{"id": "x", "created_at": "2021-01-01T00:00:00Z", "amount": "1", "currency": "USD",'
    b' "debtor": {"name": "A"}}',
    b'{"id": "x", "created_at": "2021-01-01", "amount": "1", "currency": "USD",'
    b' "debtor": {"name": "A"}, "creditor": {"name": "B"}}',
    b'{"id": 5, "created_at": "2021-01-01T00:00:00Z", "amount": "1", "currency": "USD",'
    b' "debtor": {"name": "A"}, "creditor": {"name": "B"}}',
]


@pytest.fixture(scope="module")
def automaton() -> NameAutomaton:
    return NameAutomaton(load_watchlists(("builtin",)))


def test_every_dead_letter_reason_the_core_writes_has_a_class(automaton: NameAutomaton) -> None:
    """Each malformed input's dead-letter reason maps to a known class, never ``other``."""
    from datetime import UTC, datetime

    result = screen_batch(MALFORMED, automaton, datetime.now(UTC), lambda i: {"file": "t", "line": i})
    assert len(result.errors) == len(MALFORMED)
    classes = {error: reason_class(error) for error in result.errors.values()}
    assert [e for e, c in classes.items() if c == "other"] == []
    assert set(classes.values()) <= set(REASON_CLASSES)
    assert reason_class("something nobody writes") == "other"


def _value(metrics: WorkerMetrics | ReviewMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_committed_batch_counts_verdicts_reasons_and_hits(automaton: NameAutomaton) -> None:
    """A committed batch adds its verdicts, dead-letter classes and hits by list and rule."""
    from datetime import UTC, datetime

    clean = (
        b'{"id": "c", "created_at": "2021-01-01T00:00:00Z", "amount": "1", "currency": "USD",'
        b' "debtor": {"name": "Jane Doe"}, "creditor": {"name": "John Roe"}}'
    )
    listed = clean.replace(b"John Roe", b"TikTok Pte. Ltd.").replace(b"2021-01-01", b"2020-10-01")
    result = screen_batch([clean, listed, b"", b"{"], automaton, datetime.now(UTC), lambda i: {})
    metrics = WorkerMetrics()
    metrics.committed(Counts(result), transaction=True, seconds=0.25)
    assert _value(metrics, "txscreen_events_total", verdict="cleared") == 1
    assert _value(metrics, "txscreen_events_total", verdict="blocked") == 1
    assert _value(metrics, "txscreen_events_total", verdict="dead-letter") == 2
    assert _value(metrics, "txscreen_dead_letters_total", reason="empty") == 1
    assert _value(metrics, "txscreen_dead_letters_total", reason="not-json") == 1
    hit = result.hits[1][0]
    assert _value(metrics, "txscreen_hits_total", list=hit.list_id, rule=hit.rule) == len(result.hits[1])
    assert _value(metrics, "txscreen_transactions_total", outcome="committed") == 1
    assert _value(metrics, "txscreen_batch_seconds_count") == 1
    metrics.aborted()
    assert _value(metrics, "txscreen_transactions_total", outcome="aborted") == 1


def test_the_publish_time_is_exported_only_for_lists_followed_from_the_topic(
    automaton: NameAutomaton,
) -> None:
    """lists_loaded without a publish time exports no published gauge; with one, its Unix time."""
    metrics = WorkerMetrics(clock=lambda: 5000.0)
    metrics.lists_loaded(automaton)
    assert metrics.registry.get_sample_value("txscreen_watchlist_published_timestamp_seconds") is None
    metrics.lists_loaded(automaton, published_at="1970-01-01T01:00:00Z")
    assert metrics.registry.get_sample_value("txscreen_watchlist_published_timestamp_seconds") == 3600.0
    assert _value(metrics, "txscreen_watchlist_loaded_timestamp_seconds") == 5000.0


def test_lists_loaded_replaces_the_version_in_use(automaton: NameAutomaton) -> None:
    """Loading lists sets one version to 1, the entities per list and the load time."""
    metrics = WorkerMetrics(clock=lambda: 1234.0)
    metrics.watchlist_info.labels("sha256:old").set(1)
    metrics.lists_loaded(automaton)
    text = generate_latest(metrics.registry).decode()
    assert "sha256:old" not in text
    assert _value(metrics, "txscreen_watchlist_info", version=automaton.version) == 1
    assert _value(metrics, "txscreen_watchlist_loaded_timestamp_seconds") == 1234.0
    for wl in automaton.watchlists:
        assert _value(metrics, "txscreen_watchlist_entities", list=wl.list_id) == len(wl.entities)
    assert "process_cpu_seconds_total" in text


def test_review_gauges_follow_the_state() -> None:
    """The review gauges show cases and entries per state and the oldest open case's age."""
    metrics = ReviewMetrics()
    metrics.set_state({"open": 3, "released": 1}, 90.0, {"active": 2})
    metrics.released()
    assert _value(metrics, "txscreen_review_cases", status="open") == 3
    assert _value(metrics, "txscreen_review_cases", status="pending") == 0
    assert _value(metrics, "txscreen_review_oldest_open_case_seconds") == 90.0
    assert _value(metrics, "txscreen_allowlist_entries", state="active") == 2
    assert _value(metrics, "txscreen_events_total", verdict="released") == 1


def _call(app: Callable[..., Any], path: str, method: str = "GET") -> tuple[str, str]:
    status: list[str] = []
    body = app(
        {"PATH_INFO": path, "REQUEST_METHOD": method, "QUERY_STRING": "", "wsgi.input": io.BytesIO()},
        lambda s, _headers: status.append(s),
    )
    return status[0], b"".join(body).decode()


def test_readyz_is_ready_only_with_lists_and_partitions() -> None:
    """/readyz answers 503 before the lists load and without partitions, 200 with both, 503 when stopping."""
    health = Health()
    app = health_app(WorkerMetrics().registry, health)
    assert _call(app, "/healthz")[0].startswith("200")
    status, body = _call(app, "/readyz")
    assert status.startswith("503")
    assert "not loaded" in body
    health.lists_loaded("sha256:abc")
    assert _call(app, "/readyz")[0].startswith("503")
    health.assigned(2)
    status, body = _call(app, "/readyz")
    assert status.startswith("200")
    assert "2 partitions" in body
    health.stopped()
    assert _call(app, "/readyz")[0].startswith("503")
    assert _call(app, "/metrics")[0].startswith("200")
    assert _call(app, "/other")[0].startswith("404")
    assert _call(app, "/metrics", "POST")[0].startswith("405")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("127.0.0.1:9464", ListenAddress("127.0.0.1", 9464)), ("[::1]:80", ListenAddress("::1", 80))],
)
def test_listen_address_parses(raw: str, expected: ListenAddress) -> None:
    """HOST:PORT and [IPv6]:PORT parse into an address."""
    assert parse_listen(raw, "--metrics-listen") == expected


@pytest.mark.parametrize("raw", ["9464", "host:", ":9464", "host:70000", "host:port"])
def test_bad_listen_address_is_refused(raw: str) -> None:
    """A listen address without a host or a valid port is refused with a sentence naming the flag."""
    with pytest.raises(ConfigError, match="--metrics-listen"):
        parse_listen(raw, "--metrics-listen")


def _exported_names() -> set[str]:
    names: set[str] = set()
    for metrics in (WorkerMetrics(), ReviewMetrics()):
        for family in metrics.registry.collect():
            names |= {sample.name for sample in family.samples} | {family.name}
    worker = WorkerMetrics()
    worker.lag.labels("t", "0").set(0)
    worker.watchlist_info.labels("v").set(1)
    worker.watchlist_entities.labels("l").set(1)
    worker.watchlist.set("v", (), 0.0, published_at="2026-11-30T08:00:00Z")  # exported only when following
    worker.hits.labels("l", "r").inc()
    for family in worker.registry.collect():
        names |= {sample.name for sample in family.samples}
    return names


@pytest.mark.parametrize(
    "path", ["deploy/grafana/txscreen-dashboard.json", "deploy/prometheus/alerts.yml"], ids=lambda p: p
)
def test_deploy_files_query_only_exported_metrics(path: str) -> None:
    """Every txscreen_* metric the dashboard and the alert rules query is one txscreen exports."""
    text = (REPO / path).read_text()
    if path.endswith(".json"):
        json.loads(text)  # the dashboard is valid JSON
    queried = set(re.findall(r"\btxscreen_[a-z_]+", text))
    assert queried
    assert sorted(queried - _exported_names()) == []
