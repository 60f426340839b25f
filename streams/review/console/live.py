"""The live view's numbers: the workers' ``/metrics``, scraped every few seconds on a background thread.

``txscreen review serve --worker-metrics URL`` (repeatable) names each worker's metrics listener
(``txscreen run --metrics-listen``). Each scrape keeps the totals of the last 15 minutes, so the page
shows counts per verdict, the event rate as a small chart, dead letters by reason, lag per partition,
the list version and its age, and which workers answered.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Final

from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger(__name__)

SCRAPE_SECONDS: Final = 5.0
WINDOW_SECONDS: Final = 15 * 60
#: The chart's size in SVG user units (the CSS scales it).
CHART_WIDTH: Final = 600
CHART_HEIGHT: Final = 120


@dataclass
class WorkerSample:
    """One worker's last scrape."""

    url: str
    up: bool = False
    error: str = ""
    scraped_at: float = 0.0
    events: dict[str, float] = field(default_factory=dict)
    dead_letters: dict[str, float] = field(default_factory=dict)
    lag: dict[tuple[str, str], float] = field(default_factory=dict)
    versions: list[str] = field(default_factory=list)
    loaded_at: float | None = None


def parse_metrics(url: str, text: str, now: float) -> WorkerSample:
    """The numbers the live view needs from one ``/metrics`` page."""
    sample = WorkerSample(url, up=True, scraped_at=now)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "txscreen_events_total":
                sample.events[s.labels.get("verdict", "")] = s.value
            elif s.name == "txscreen_dead_letters_total" and s.value:
                sample.dead_letters[s.labels.get("reason", "")] = s.value
            elif s.name == "txscreen_consumer_lag":
                sample.lag[(s.labels.get("topic", ""), s.labels.get("partition", ""))] = s.value
            elif s.name == "txscreen_watchlist_info" and s.value:
                sample.versions.append(s.labels.get("version", ""))
            elif s.name == "txscreen_watchlist_loaded_timestamp_seconds":
                sample.loaded_at = s.value
    return sample


def _fetch(url: str) -> str:
    target = url.rstrip("/") + ("" if url.rstrip("/").endswith("/metrics") else "/metrics")
    if not target.startswith(("http://", "https://")):
        raise ValueError(f"{url} is not an http(s) URL")
    with urllib.request.urlopen(target, timeout=3) as response:  # noqa: S310 (scheme checked above)
        return str(response.read().decode("utf-8", errors="replace"))


@dataclass(frozen=True, slots=True)
class LiveView:
    """What the live page shows."""

    configured: bool
    workers: list[WorkerSample]
    events: dict[str, float]
    dead_letters: dict[str, float]
    lag: dict[tuple[str, str], float]
    versions: dict[str, float | None]  # version -> when loaded (Unix time), oldest load
    rate_points: str  # SVG polyline points
    rate_now: float
    rate_max: float


class WorkerScraper:
    """Scrapes the workers' metrics every :data:`SCRAPE_SECONDS` and keeps 15 minutes of totals."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        fetch: Callable[[str], str] = _fetch,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.urls = tuple(urls)
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._samples: dict[str, WorkerSample] = {url: WorkerSample(url) for url in self.urls}
        self._history: deque[tuple[float, float]] = deque()  # (time, events total over the workers)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Scrape on a daemon thread until :meth:`stop` (nothing to do without URLs)."""
        if self.urls and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="txscreen-live", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop scraping."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.scrape_once()
            self._stop.wait(SCRAPE_SECONDS)

    def scrape_once(self) -> None:
        """Scrape every worker once and record the total."""
        now = self._clock()
        samples = {}
        for url in self.urls:
            try:
                samples[url] = parse_metrics(url, self._fetch(url), now)
            except (OSError, ValueError, urllib.error.URLError) as exc:
                samples[url] = WorkerSample(url, up=False, error=str(exc)[:200], scraped_at=now)
        total = sum(v for s in samples.values() for k, v in s.events.items() if k != "released")
        with self._lock:
            self._samples = samples
            if any(s.up for s in samples.values()):
                self._history.append((now, total))
            while self._history and self._history[0][0] < now - WINDOW_SECONDS:
                self._history.popleft()

    def view(self) -> LiveView:
        """The numbers as of the last scrape."""
        with self._lock:
            workers = list(self._samples.values())
            history = list(self._history)
        events: dict[str, float] = {}
        dead: dict[str, float] = {}
        lag: dict[tuple[str, str], float] = {}
        versions: dict[str, float | None] = {}
        for w in workers:
            for k, v in w.events.items():
                events[k] = events.get(k, 0) + v
            for k, v in w.dead_letters.items():
                dead[k] = dead.get(k, 0) + v
            lag.update(w.lag)
            for version in w.versions:
                known = versions.get(version)
                versions[version] = w.loaded_at if known is None else min(known, w.loaded_at or known)
        points, now_rate, top = rate_chart(history, self._clock())
        return LiveView(
            bool(self.urls), workers, events, dead, dict(sorted(lag.items())), versions, points, now_rate, top
        )


def rate_chart(history: Sequence[tuple[float, float]], now: float) -> tuple[str, float, float]:
    """SVG polyline points of the event rate over the last 15 minutes, the latest rate and the top."""
    rates: list[tuple[float, float]] = []
    for (t0, v0), (t1, v1) in pairwise(history):
        if t1 > t0:
            rates.append((t1, max(v1 - v0, 0) / (t1 - t0)))  # a restarted worker's counters drop: not < 0
    if not rates:
        return "", 0.0, 0.0
    top = max(r for _, r in rates) or 1.0
    start = now - WINDOW_SECONDS
    points = " ".join(
        f"{(t - start) / WINDOW_SECONDS * CHART_WIDTH:.1f},{CHART_HEIGHT - r / top * (CHART_HEIGHT - 4):.1f}"
        for t, r in rates
    )
    return points, rates[-1][1], top
