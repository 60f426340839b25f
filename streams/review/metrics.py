"""``/metrics``, ``/healthz`` and ``/readyz`` of the review service, on its own ``--listen`` address.

The gauges (:class:`streams.metrics.registry.ReviewMetrics`) are read from the state at each scrape:
cases by status, the oldest open or pending case's age, allowlist entries by state, and the released
events (counted from the decisions, so a restart that rebuilds the state counts them again from the
topic: Prometheus sees a counter that restarted). ``/readyz`` is 200 once the lists are loaded and
the topics read (the app exists only then; with ``--watchlist-topic``, once the first version was
built) and until the service is fenced or its watchlist follower stopped on an error. The
``txscreen_watchlist_*`` gauges show the lists in use, so they follow each new version. No authentication: the
routes show counts only, never a case or a name.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.metrics.registry import RELEASED, ReviewMetrics
from streams.review.service import ReviewService

router = APIRouter(tags=["operations"])


def _service(request: Request) -> ReviewService:
    service: ReviewService = request.app.state.service
    return service


def refresh(metrics: ReviewMetrics, service: ReviewService) -> None:
    """Set the gauges from the service's state."""
    cases = service.list_cases()
    by_status: dict[str, int] = {}
    oldest = 0.0
    for case in cases:
        status = str(case["status"])
        by_status[status] = by_status.get(status, 0) + 1
        if status in ("open", "pending"):
            oldest = max(oldest, float(case.get("age_seconds") or 0.0))
    entries: dict[str, int] = {}
    for entry in service.list_entries():
        entries[str(entry["status"])] = entries.get(str(entry["status"]), 0) + 1
    metrics.set_state(by_status, oldest, entries)
    lists = service.lists
    metrics.watchlist.set(lists.version, lists.watchlists, lists.loaded_at, lists.published_at)
    released = by_status.get("released", 0)
    counted = metrics.registry.get_sample_value("txscreen_events_total", {"verdict": RELEASED}) or 0.0
    if released > counted:
        metrics.released(int(released - counted))


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus metrics (text format)."""
    registry: ReviewMetrics = request.app.state.review_metrics
    refresh(registry, _service(request))
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz", include_in_schema=False)
def healthz() -> PlainTextResponse:
    """Alive."""
    return PlainTextResponse("alive.")


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> Any:
    """Ready once the lists are loaded and the topics read, until fenced."""
    service = _service(request)
    fenced = getattr(service.writer, "fenced", None)
    if fenced is not None:
        return PlainTextResponse(f"not ready: {fenced}", status_code=503)
    following = service.list_follower
    if following is not None and following.error is not None:
        return PlainTextResponse(
            f"not ready: following the watchlist topic {following.topic} failed: {following.error}",
            status_code=503,
        )
    lists = service.lists
    published = f" (published {lists.published_at})" if lists.published_at else ""
    return PlainTextResponse(f"ready: lists {lists.version}{published}, {len(service.state.blocked)} cases.")
