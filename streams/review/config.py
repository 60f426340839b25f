"""Settings of ``txscreen review serve``: one frozen object; each setting with flag, env var and meaning."""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from schemas.errors import ConfigError
from streams.settings import WATCHLIST_TOPIC, KafkaSettings, Setting, watchlist_sources

DEFAULT_LISTEN: Final = "127.0.0.1:8320"


@dataclass(frozen=True, slots=True)
class ReviewSettings:
    """What the review service needs."""

    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    users_file: Path = Path("users.yaml")
    host: str = "127.0.0.1"
    port: int = 8320
    approvals: int = 2
    """Distinct users a release, a confirmation or an allowlist entry needs (the proposer counts)."""
    transactional_id: str = "txscreen-review"
    allow_max_days: int = 366
    max_body_bytes: int = 64 * 1024
    watchlists: tuple[str, ...] = ()
    watchlist_topic: str | None = None
    """Follow the list versions of this topic (``--watchlist-topic``) instead of loading ``watchlists``."""
    worker_metrics: tuple[str, ...] = ()
    """The workers' metrics URLs the console's live view scrapes (``--worker-metrics``)."""


def _listen(raw: str, where: str) -> tuple[str, int]:
    host, colon, port = raw.strip().rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{where} must be HOST:PORT (e.g. 127.0.0.1:8320), not {raw!r}.")
    return host.strip("[]"), int(port)


def _approvals(raw: str, where: str) -> int:
    if not raw.strip().isdigit() or not 2 <= int(raw) <= 10:
        raise ConfigError(
            f"{where} must be a whole number from 2 to 10 (four-eyes needs two users), not {raw!r}."
        )
    return int(raw)


def _days(raw: str, where: str) -> int:
    if not raw.strip().isdigit() or not 1 <= int(raw) <= 3660:
        raise ConfigError(f"{where} must be a whole number of days from 1 to 3660, not {raw!r}.")
    return int(raw)


def _bytes(raw: str, where: str) -> int:
    if not raw.strip().isdigit() or not 1024 <= int(raw) <= 16 * 1024 * 1024:
        raise ConfigError(f"{where} must be a number of bytes from 1024 to 16777216, not {raw!r}.")
    return int(raw)


def _transactional_id(raw: str, where: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,200}", raw.strip()):
        raise ConfigError(f"{where} may only hold letters, digits, '.', '_' and '-', not {raw!r}.")
    return raw.strip()


def _path(raw: str, where: str) -> str:
    if not raw.strip():
        raise ConfigError(f"{where} must not be empty.")
    return raw.strip()


LISTEN = Setting(
    "listen",
    "--listen",
    "TXSCREEN_REVIEW_LISTEN",
    DEFAULT_LISTEN,
    "where the review service listens, HOST:PORT (put a TLS reverse proxy in front for other hosts)",
    parse=_listen,
    metavar="HOST:PORT",
)
USERS_FILE = Setting(
    "users_file",
    "--users",
    "TXSCREEN_USERS",
    "users.yaml",
    "the users file (YAML: name, roles, scrypt token hash), written by txscreen users add",
    parse=_path,
    metavar="FILE",
)
APPROVALS = Setting(
    "approvals",
    "--approvals",
    "TXSCREEN_APPROVALS",
    2,
    "distinct users a release, a confirmation or an allowlist entry needs, the proposer included",
    parse=_approvals,
    metavar="N",
)
TRANSACTIONAL_ID = Setting(
    "transactional_id",
    "--transactional-id",
    "TXSCREEN_REVIEW_TRANSACTIONAL_ID",
    "txscreen-review",
    "the review service's one transactional id: a second instance with the same id fences the first",
    parse=_transactional_id,
    metavar="ID",
)
ALLOW_MAX_DAYS = Setting(
    "allow_max_days",
    "--allow-max-days",
    "TXSCREEN_ALLOW_MAX_DAYS",
    366,
    "how far ahead an allowlist entry's valid_until may be, in days",
    parse=_days,
    metavar="DAYS",
)
MAX_BODY = Setting(
    "max_body_bytes",
    "--max-body-bytes",
    "TXSCREEN_REVIEW_MAX_BODY",
    64 * 1024,
    "largest request body the service reads; larger ones get 413",
    parse=_bytes,
    metavar="BYTES",
)
SERVER = Setting(
    "server",
    "--server",
    "TXSCREEN_SERVER",
    "http://127.0.0.1:8320",
    "the review service the review, allow CLI clients talk to",
    metavar="URL",
)
TOKEN = Setting(
    "token",
    "--token",
    "TXSCREEN_TOKEN",
    None,
    "the CLI clients' bearer token (prefer the env var: a flag shows in the process list)",
    metavar="TOKEN",
)


def _urls(raw: str, where: str) -> tuple[str, ...]:
    urls = tuple(u.strip() for u in re.split(r"[;\s]+", raw) if u.strip())
    for url in urls:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
            raise ConfigError(f"{where} takes http(s)://HOST:PORT URLs, not {url!r}.")
    return urls


WORKER_METRICS = Setting(
    "worker_metrics",
    "--worker-metrics",
    "TXSCREEN_WORKER_METRICS",
    (),
    "the workers' metrics listeners (txscreen run --metrics-listen) the console's live view scrapes, as "
    "http://HOST:PORT, several separated by ';'",
    parse=_urls,
    metavar="URL",
)
SERVE_SETTINGS: Final = (
    LISTEN, USERS_FILE, APPROVALS, TRANSACTIONAL_ID, ALLOW_MAX_DAYS, MAX_BODY, WORKER_METRICS,
)  # fmt: skip


def review_settings(
    args: argparse.Namespace, environ: Mapping[str, str], kafka: KafkaSettings
) -> ReviewSettings:
    """The settings of ``review serve`` from flags, then the environment, then the defaults."""
    listen = LISTEN.value(args, environ)
    host, port = listen if isinstance(listen, tuple) else _listen(listen, "--listen")

    watchlists = watchlist_sources(args, environ)
    topic = WATCHLIST_TOPIC.value(args, environ)
    if topic and watchlists:
        raise ConfigError(
            "give either --watchlist (lists loaded once) or --watchlist-topic (lists followed), not both."
        )
    return ReviewSettings(
        kafka=kafka,
        users_file=Path(USERS_FILE.value(args, environ)).expanduser(),
        host=host,
        port=port,
        approvals=APPROVALS.value(args, environ),
        transactional_id=TRANSACTIONAL_ID.value(args, environ),
        allow_max_days=ALLOW_MAX_DAYS.value(args, environ),
        max_body_bytes=MAX_BODY.value(args, environ),
        watchlists=watchlists,
        watchlist_topic=topic or None,
        worker_metrics=WORKER_METRICS.value(args, environ),
    )
