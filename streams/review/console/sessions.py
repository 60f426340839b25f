"""Console sessions: a token typed into the login form becomes a server-side session behind a cookie.

The cookie holds only a random session id (HttpOnly, ``SameSite=Strict``, ``Secure`` over HTTPS); the
session (user name, CSRF token, expiry) lives in the process, so a restart logs everyone out — the
service keeps no state of its own. A session ends at logout, after :data:`SESSION_SECONDS`, or when its
user is removed from the users file. Every state-changing form carries the session's CSRF token; the
login form, before any session exists, carries a double-submit token (a cookie and a field that match).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE: Final = "txscreen_session"
LOGIN_COOKIE: Final = "txscreen_login"
#: A session lasts this long from login (a working day), then the user logs in again.
SESSION_SECONDS: Final = 8 * 3600
#: Most sessions kept at once (the oldest go first): a flood of logins cannot exhaust memory.
MAX_SESSIONS: Final = 10_000


@dataclass(slots=True)
class Session:
    """One logged-in browser."""

    session_id: str
    user: str
    csrf: str
    expires_at: float


@dataclass
class Sessions:
    """The sessions of this process, by id (thread-safe)."""

    clock: Callable[[], float] = time.monotonic
    lifetime: float = SESSION_SECONDS
    _by_id: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, user: str) -> Session:
        """A new session for ``user``."""
        session = Session(
            secrets.token_urlsafe(32), user, secrets.token_urlsafe(32), self.clock() + self.lifetime
        )
        with self._lock:
            if len(self._by_id) >= MAX_SESSIONS:
                oldest = min(self._by_id.values(), key=lambda s: s.expires_at)
                del self._by_id[oldest.session_id]
            self._by_id[session.session_id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session with that id (an expired one is dropped)."""
        if not session_id:
            return None
        with self._lock:
            session = self._by_id.get(session_id)
            if session is not None and session.expires_at <= self.clock():
                del self._by_id[session_id]
                return None
            return session

    def drop(self, session_id: str | None) -> None:
        """End a session (logout)."""
        with self._lock:
            self._by_id.pop(session_id or "", None)


def same_token(given: str | None, expected: str | None) -> bool:
    """Whether two tokens are equal and not empty (constant time)."""
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    """An HttpOnly, SameSite=Strict cookie for the whole site (Secure over HTTPS)."""
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    """Remove a cookie set by :func:`set_cookie`."""
    response.delete_cookie(name, path="/", httponly=True, samesite="strict", secure=_secure(request))
