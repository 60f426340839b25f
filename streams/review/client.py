"""The HTTP client of the ``review`` and ``allow`` CLI verbs (httpx): one call, its JSON, or a ReviewError."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from schemas.errors import ConfigError, ReviewError

TIMEOUT = 60.0
#: httpx logs every request at INFO; the CLI prints its own lines.
logging.getLogger("httpx").setLevel(logging.WARNING)


class ReviewClient:
    """Calls the review service at ``server`` with a bearer token."""

    def __init__(
        self, server: str, token: str | None, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        if not token:
            raise ConfigError("the review service needs a token: give --token or set TXSCREEN_TOKEN.")
        self.server = server.rstrip("/")
        self._client = httpx.Client(
            base_url=self.server,
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
            transport=transport,
        )

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        """The response of one call; ReviewError with the server's sentence for any status but 2xx."""
        try:
            response = self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ReviewError(f"the review service at {self.server} cannot be reached: {exc}.") from exc
        if response.is_success:
            return response
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = None
        reason = detail if isinstance(detail, str) else response.reason_phrase
        raise ReviewError(
            f"the review service refused ({response.status_code}): {reason}", status=response.status_code
        )

    def json(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The JSON body of one call."""
        return self.call(method, path, body).json()
