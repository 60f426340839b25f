"""``--metrics-listen HOST:PORT``: ``/metrics``, ``/healthz`` and ``/readyz`` of a worker, on a thread.

What serves them: the standard library's WSGI server (``wsgiref``, one thread per request) running
``prometheus_client``'s own WSGI app for ``/metrics`` and two small routes for health. A worker has no
other HTTP to serve, so a web framework would add a dependency and an event loop for three routes; the
review service, which has a framework, serves the same three routes from its own app.

* ``/metrics``: the process's registry (:mod:`streams.metrics.registry`), text or OpenMetrics format;
* ``/healthz``: 200 while the process runs (it answers);
* ``/readyz``: 200 only once the lists are loaded *and* partitions are assigned, 503 before (fail
  closed: a worker whose lists are still loading, or failed to, is never ready) and once it stops.

Both health routes answer one plain-text sentence.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any, Final, NamedTuple
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from schemas.errors import ConfigError
from streams.settings import Setting

log = logging.getLogger(__name__)

#: The address the README suggests (the port Prometheus exporters commonly take in the 94xx range).
SUGGESTED_LISTEN: Final = "127.0.0.1:9464"
_HOST_PORT: Final = re.compile(r"\[?(?P<host>[^\[\]]*?)\]?:(?P<port>\d{1,5})")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Environ = dict[str, Any]


class ListenAddress(NamedTuple):
    """Where an HTTP listener binds."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(raw: str, where: str) -> ListenAddress:
    """``HOST:PORT`` (``[::1]:9464`` for IPv6) as an address; ConfigError for anything else."""
    m = _HOST_PORT.fullmatch(raw.strip())
    port = int(m["port"]) if m else 0
    if m is None or not m["host"] or not 0 < port < 65536:
        raise ConfigError(f"{where} must be HOST:PORT with a port from 1 to 65535, such as 127.0.0.1:9464, "
                          f"not {raw!r}.")  # fmt: skip
    return ListenAddress(m["host"], port)


def _optional_listen(raw: str, where: str) -> ListenAddress | None:
    return parse_listen(raw, where) if raw.strip() else None


METRICS_LISTEN = Setting(
    "metrics_listen",
    "--metrics-listen",
    "TXSCREEN_METRICS_LISTEN",
    None,
    f"serve Prometheus /metrics, /healthz and /readyz on this HOST:PORT (e.g. {SUGGESTED_LISTEN}); "
    "none serves nothing",
    parse=_optional_listen,
    metavar="HOST:PORT",
)


class Health:
    """What ``/readyz`` answers: ready once the lists are loaded and partitions assigned, until stopping."""

    def __init__(self) -> None:
        self.lists_version: str | None = None
        self.partitions = 0
        self.stopping = False
        self._lock = threading.Lock()

    def lists_loaded(self, version: str) -> None:
        """The lists of ``version`` are loaded and in use."""
        with self._lock:
            self.lists_version = version

    def assigned(self, partitions: int) -> None:
        """The worker now owns ``partitions`` input partitions."""
        with self._lock:
            self.partitions = partitions

    def stopped(self) -> None:
        """The worker is stopping: it takes no more work."""
        with self._lock:
            self.stopping = True

    def readiness(self) -> tuple[bool, str]:
        """Whether the worker is ready, and a sentence saying why (not)."""
        with self._lock:
            if self.stopping:
                return False, "not ready: stopping."
            if self.lists_version is None:
                return False, "not ready: the watchlists are not loaded yet."
            if self.partitions == 0:
                return False, f"not ready: lists {self.lists_version} loaded, but no partition is assigned."
            return True, f"ready: lists {self.lists_version}, {self.partitions} partitions assigned."


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log: Prometheus scrapes every few seconds."""


def _text(start_response: StartResponse, status: str, body: str) -> Iterable[bytes]:
    data = (body + "\n").encode()
    start_response(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [data]


def health_app(registry: CollectorRegistry, health: Health) -> Callable[[Environ, StartResponse], Any]:
    """The WSGI app: ``/metrics``, ``/healthz``, ``/readyz``; 404 for anything else, 405 for a write."""
    metrics = make_wsgi_app(registry)

    def app(environ: Environ, start_response: StartResponse) -> Any:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _text(start_response, "405 Method Not Allowed", "only GET is served here.")
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == "/healthz":
            return _text(start_response, "200 OK", "alive.")
        if path == "/readyz":
            ready, why = health.readiness()
            return _text(start_response, "200 OK" if ready else "503 Service Unavailable", why)
        return _text(start_response, "404 Not Found", "not found: /metrics, /healthz and /readyz are served.")

    return app


class MetricsServer:
    """The listener of ``--metrics-listen``, serving on a daemon thread until :meth:`close`."""

    def __init__(self, address: ListenAddress, registry: CollectorRegistry, health: Health) -> None:
        try:
            self._server = make_server(
                address.host, address.port, health_app(registry, health), _Server, _QuietHandler
            )
        except OSError as exc:
            raise ConfigError(f"cannot listen on {address} for metrics: {exc.strerror or exc}.") from exc
        self.address = ListenAddress(address.host, self._server.server_port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="txscreen-metrics", daemon=True
        )
        self._thread.start()
        log.info("metrics on http://%s/metrics (and /healthz, /readyz)", self.address)

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
