"""The review service's lists swapped at run time: allowlist void status, names, readiness and gauges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest

from matchers.sources import load_watchlists
from matchers.watchlist import Watchlist, watchlist_version
from schemas.decisions import Scope
from schemas.records import timestamp
from streams.metrics.registry import published_seconds
from streams.review.app import create_app
from streams.review.config import ReviewSettings
from streams.review.lists import ServiceLists
from streams.review.metrics import refresh
from streams.review.service import ReviewService
from streams.review.state import ReviewState
from streams.review.users import add_user, load_users
from streams.settings import KafkaSettings
from tests.unit.streams.review.test_rules import FakeWriter

LIST = """format: txscreen-watchlist/v1
list_id: lt
entities:
  - id: initech
    type: entity
    names: [Initech Holdings]
    programs: [{program}]
  - id: hooli
    type: entity
    names: [Hooli Systems]
"""


def lists(tmp_path: Path, program: str) -> tuple[Watchlist, ...]:
    """The test list with initech under ``program`` (a change of program changes its content hash)."""
    path = tmp_path / f"list-{program}.yaml"
    path.write_text(LIST.format(program=program), encoding="utf-8")
    return tuple(load_watchlists([str(path)]))


def service_lists(watchlists: tuple[Watchlist, ...], published_at: str | None = None) -> ServiceLists:
    return ServiceLists.of(watchlist_version(watchlists), watchlists, published_at=published_at)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[ReviewService, dict[str, Any], Path]:
    """A service over v1 of the test list, with an analyst and two approvers."""
    path = tmp_path / "users.yaml"
    for name, roles in {"alice": ["analyst"], "bob": ["approver"]}.items():
        add_user(path, name, roles)
    users = load_users(path)
    service = ReviewService(ReviewSettings(kafka=KafkaSettings()), ReviewState(), writer=FakeWriter(),  # type: ignore[arg-type]
                            users=users, entity_hashes={}, watchlist_version="sha256:none")  # fmt: skip
    service.use_lists(service_lists(lists(tmp_path, "P1")))
    return service, users.by_name, tmp_path


def approved_entry(service: ReviewService, users: dict[str, Any], entity: str) -> str:
    """An entry for ``entity`` proposed by alice and approved by bob (active against the lists in use)."""
    until = timestamp(datetime.now(UTC) + timedelta(days=10))
    entry_id = service.propose_entry(
        users["alice"], entity_id=entity, name="Initech Holdings", account=None, scope=Scope.CREDITOR,
        valid_until=until, reason="known customer",
    )["entry"]["entry_id"]  # fmt: skip
    assert service.approve_entry(entry_id, users["bob"], "ok")["entry"]["status"] == "active"
    return str(entry_id)


def test_a_new_version_that_changes_the_entity_voids_its_entry_and_an_unchanged_one_does_not(
    setup: tuple[ReviewService, dict[str, Any], Path],
) -> None:
    """use_lists replaces the hashes the entries are judged against: a changed entity's entry shows void."""
    service, users, tmp_path = setup
    entity = next(
        e.id for wl in service.watchlists for e in wl.entities if e.primary_name == "Initech Holdings"
    )
    entry_id = approved_entry(service, users, entity)
    service.use_lists(service_lists(lists(tmp_path, "P1")))  # the same content again
    (same,) = service.list_entries()
    assert same["status"] == "active"
    v2 = lists(tmp_path, "P2")
    service.use_lists(service_lists(v2))
    (shown,) = service.list_entries()
    assert shown["entry_id"] == entry_id
    assert shown["status"] == "void"
    assert "changed in the lists" in shown["void_reason"]
    assert service.watchlist_version == watchlist_version(v2)
    assert service.lists.entities[entity].programs == ("P2",)  # the console's names and programs follow


def test_readyz_and_the_watchlist_gauges_follow_the_lists_in_use(
    setup: tuple[ReviewService, dict[str, Any], Path],
) -> None:
    """The review service's /readyz and txscreen_watchlist_* show the version in use and its publish time."""
    service, _users, tmp_path = setup
    client = TestClient(create_app(service))
    v1 = service.watchlist_version
    assert v1 in client.get("/readyz").text
    metrics = client.get("/metrics").text
    assert f'txscreen_watchlist_info{{version="{v1}"}} 1.0' in metrics
    assert "txscreen_watchlist_published_timestamp_seconds" not in metrics  # lists from files: absent
    v2 = lists(tmp_path, "P2")
    service.use_lists(service_lists(v2, published_at="2026-11-30T08:00:00.000Z"))
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert watchlist_version(v2) in ready.text
    assert "published 2026-11-30T08:00:00.000Z" in ready.text
    metrics = client.get("/metrics").text
    assert f'txscreen_watchlist_info{{version="{watchlist_version(v2)}"}} 1.0' in metrics
    assert f'version="{v1}"' not in metrics
    expected = datetime(2026, 11, 30, 8, tzinfo=UTC).timestamp()
    (published,) = [
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("txscreen_watchlist_published_timestamp_seconds ")
    ]
    assert published == expected


def test_readyz_is_503_once_the_watchlist_follower_stopped_on_an_error(
    setup: tuple[ReviewService, dict[str, Any], Path],
) -> None:
    """A watchlist follower that died makes the service not ready (its lists no longer follow the topic)."""
    service, _users, _tmp = setup

    class DeadFollower:
        topic = "watchlists"
        error = RuntimeError("broker gone")

    service.list_follower = DeadFollower()  # type: ignore[assignment]
    answer = TestClient(create_app(service)).get("/readyz")
    assert answer.status_code == 503
    assert "watchlists" in answer.text


def test_published_seconds_reads_rfc3339_and_rejects_the_rest() -> None:
    """A manifest's publish time becomes Unix seconds; none or garbage gives None (the gauge stays absent)."""
    assert published_seconds("2026-11-30T08:00:00Z") == datetime(2026, 11, 30, 8, tzinfo=UTC).timestamp()
    assert published_seconds(None) is None
    assert published_seconds("yesterday") is None


def test_refresh_keeps_the_published_gauge_absent_without_a_publish_time(
    setup: tuple[ReviewService, dict[str, Any], Path],
) -> None:
    """Lists loaded from files export the load time only."""
    service, _users, _tmp = setup
    app = create_app(service)
    refresh(app.state.review_metrics, service)
    text = generate_latest(app.state.review_metrics.registry).decode()
    assert "txscreen_watchlist_loaded_timestamp_seconds" in text
    assert "txscreen_watchlist_published_timestamp_seconds" not in text
