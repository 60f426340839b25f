"""The review service's app factory: ``create_app(service) -> FastAPI``, no globals.

Routers per noun (:mod:`~streams.review.cases`, :mod:`~streams.review.allowlist`,
:mod:`~streams.review.auth` for ``/users``); authentication and roles are dependencies. Every
refusal is ``{"detail": "<one sentence>"}``: 400 for a malformed body or an unknown action, 401
without a valid token, 403 for a role or four-eyes violation, 404 for an unknown case or entry, 409
for a step the case's state does not allow, 413 for a body over ``max_body_bytes``, 503 when the
write could not be committed (nothing of it is visible). The OpenAPI document is ``/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from streams.metrics.registry import ReviewMetrics
from streams.review import allowlist, auth, cases, metrics
from streams.review.console import pages as console
from streams.review.service import Refusal, ReviewService
from streams.review.writer import Fenced, WriteFailed

#: Headers on every response: a JSON API that no page may frame or run script from.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413 before the app reads it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def _refuse(self, send: Send) -> None:
        body = b'{"detail":"the request body is larger than the service accepts."}'
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _sentence(exc: RequestValidationError) -> str:
    errors = exc.errors()
    first: dict[str, Any] = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON."
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "the body"
    if first.get("type") == "enum" and first.get("loc", [None])[-1] == "action":
        actions = ", ".join(a.value for a in cases.CaseAction)
        return f"unknown action {first.get('input')!r}; actions are {actions}."
    return f"the request is not valid: {where}: {first.get('msg', 'invalid').lower()}."


def create_app(service: ReviewService) -> FastAPI:
    """The review API over ``service`` (built by the caller: with a real broker in tests and in serve)."""
    app = FastAPI(
        title="txscreen review",
        description="Four-eyes review of blocked payments and the allowlist; Kafka is the system of record.",
        docs_url=None,  # the interactive docs load script from a CDN; the OpenAPI document is enough
        redoc_url=None,
    )
    app.state.service = service
    app.include_router(cases.router)
    app.include_router(allowlist.router)
    app.include_router(auth.router)
    app.state.review_metrics = ReviewMetrics()
    app.include_router(metrics.router)  # /metrics, /healthz, /readyz
    console.install(app, service, service.settings.worker_metrics)  # the pages at /

    @app.exception_handler(Refusal)
    async def refused(_request: Request, exc: Refusal) -> JSONResponse:
        return JSONResponse({"detail": exc.reason}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def malformed(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _sentence(exc)}, status_code=400)

    @app.exception_handler(WriteFailed)
    async def not_written(_request: Request, exc: WriteFailed) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(Fenced)
    async def fenced(_request: Request, exc: Fenced) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail.endswith(".") else f"{exc.detail}."
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.add_middleware(BodyLimit, limit=service.settings.max_body_bytes)
    return app
