"""Downloading one feed file to a staging path: HTTPS only, bounded in time and size, nothing half-written.

:mod:`urllib.request` is used as is, so the standard proxy variables (``https_proxy``, ``http_proxy``,
``no_proxy``, upper or lower case) are honoured the way every other tool on the host honours them.
Plain ``http://`` is refused except on the loopback interface (a local mirror, the tests), also after
a redirect: a list fetched in clear could be changed on the way. The whole download must finish within
the timeout (a server that trickles bytes is cut off too) and within :data:`MAX_BYTES`. A response
shorter than its ``Content-Length`` is refused as cut short. Every failure is a
:class:`~schemas.errors.WatchlistError` naming the URL.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from schemas.errors import WatchlistError

MAX_BYTES: Final = 2 * 1024**3
CHUNK: Final = 1 << 20
USER_AGENT: Final = "txscreen-lists-fetch"


class NotFoundError(WatchlistError):
    """The server answered 404: an optional file may be absent, a required one may not."""


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A file written to its staging path, and how many bytes it holds."""

    url: str
    path: Path
    size: int


def check_url(url: str) -> None:
    """Refuse anything but ``https://``, and ``http://`` to a loopback host."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return
    raise WatchlistError(
        "only https:// URLs are fetched (http:// only from this host's loopback)", source=url
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def download(url: str, path: Path, *, timeout: float, max_bytes: int = MAX_BYTES) -> Downloaded:
    """Fetch ``url`` into ``path`` (created or replaced); raises WatchlistError with the reason."""
    check_url(url)
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310 - scheme checked
    try:
        # A fresh opener per download: its ProxyHandler reads the proxy variables now (urlopen's shared
        # opener keeps those of its first use).
        opener = urllib.request.build_opener()
        with opener.open(request, timeout=timeout) as response:
            check_url(response.geturl())
            expected = response.headers.get("Content-Length")
            size = _copy(response, path, deadline, max_bytes, url)
    except urllib.error.HTTPError as exc:
        reason = f"the server answered HTTP {exc.code} {exc.reason}"
        if exc.code == 404:
            raise NotFoundError(reason, source=url) from exc
        raise WatchlistError(reason, source=url) from exc
    except urllib.error.URLError as exc:
        raise WatchlistError(f"cannot reach the server ({_reason(exc.reason)})", source=url) from exc
    except TimeoutError as exc:
        raise WatchlistError(f"no answer within {timeout:g} s", source=url) from exc
    except http.client.IncompleteRead as exc:
        raise WatchlistError(
            f"the download was cut short after {len(exc.partial):,} bytes", source=url
        ) from exc
    except (http.client.HTTPException, ConnectionError) as exc:
        raise WatchlistError(f"the connection failed ({_reason(exc)})", source=url) from exc
    except OSError as exc:
        raise WatchlistError(f"cannot write {path} ({exc.strerror or exc})", source=url) from exc
    if expected is not None and expected.isdigit() and int(expected) != size:
        raise WatchlistError(f"the download was cut short: {size:,} of {int(expected):,} bytes", source=url)
    return Downloaded(url, path, size)


def _copy(response: http.client.HTTPResponse, path: Path, deadline: float, max_bytes: int, url: str) -> int:
    """Stream the body into ``path``, minding the deadline and the size cap."""
    size = 0
    with path.open("wb") as out:
        while chunk := response.read1(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise WatchlistError(f"the file is larger than {max_bytes:,} bytes", source=url)
            if time.monotonic() > deadline:
                raise TimeoutError
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())  # on disk before it may be renamed into place
    return size


def _reason(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return "timed out"
    return str(reason) or type(reason).__name__
