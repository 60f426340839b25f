"""The console's pages in process (no broker, no browser): sign-in, escaping, CSP, CSRF, roles, metrics."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schemas.records import Hit, encode_blocked
from streams.review.app import create_app
from streams.review.config import ReviewSettings
from streams.review.service import ReviewService
from streams.review.state import ReviewState, decode_blocked_message
from streams.review.users import add_user, load_users
from streams.review.writer import ReviewRecord
from streams.settings import KafkaSettings

HOSTILE = "<img src=x onerror=alert(1)> <script>alert(1)</script>"
EVENT = (
    b'{"id":"ev-1","created_at":"2026-06-01T10:00:00Z","amount":"1250.50","currency":"EUR",'
    b'"debtor":{"name":"J"},"creditor":{"name":"Globex"},"remittance":"' + HOSTILE.encode() + b'"}'
)


class FakeWriter:
    """Records each transaction instead of writing it."""

    fenced = None

    def __init__(self) -> None:
        self.transactions: list[list[ReviewRecord]] = []

    def write(self, records: list[ReviewRecord]) -> None:
        self.transactions.append(list(records))

    def close(self) -> None:
        pass


@pytest.fixture
def app(tmp_path: Path) -> tuple[TestClient, dict[str, str], FakeWriter]:
    path = tmp_path / "users.yaml"
    tokens = {n: add_user(path, n, r) for n, r in {"alice": ["analyst"], "bob": ["approver"]}.items()}
    state = ReviewState()
    hit = Hit(
        entity_id="l:globex", list_id="l", entity_name="Globex", entity_type="entity", matched_name="globex",
        field="creditor.name", start=0, end=6, matched_text="Globex", programs=["P1"], rule="anywhere",
        in_force_at="both",
    )  # fmt: skip
    value = encode_blocked(EVENT, [hit], "sha256:v", "2026-06-01T10:00:01.000Z", source={"topic": "p"})
    message = decode_blocked_message(
        partition=0, offset=7, key=b"ev-1", headers=[], value=value, timestamp_ms=0
    )
    assert message is not None
    state.add_blocked(message)
    writer = FakeWriter()
    service = ReviewService(
        ReviewSettings(kafka=KafkaSettings(), approvals=2),
        state,
        writer=writer,  # type: ignore[arg-type]
        users=load_users(path),
        entity_hashes={},
        watchlist_version="sha256:v",
    )
    return TestClient(create_app(service)), tokens, writer


def sign_in(client: TestClient, token: str) -> str:
    """Sign in through the form; the page's CSRF token."""
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    done = client.post("/login", data={"csrf": csrf[1], "token": token, "next": "/"}, follow_redirects=False)
    assert done.status_code == 303
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    page = client.get("/")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found[1]


def test_pages_need_a_session_and_the_api_a_token(app: Any) -> None:
    """Every page redirects to the sign-in form without a session; the API answers 401 to the cookie alone."""
    client, tokens, _writer = app
    for path in ("/", "/case/0-7", "/entries", "/live", "/queue.csv"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    sign_in(client, tokens["alice"])
    assert client.get("/cases").status_code == 401  # the session cookie is not an API credential
    bad = client.post("/login", data={"csrf": "x", "token": tokens["alice"]}, follow_redirects=False)
    assert bad.status_code == 403


def test_hostile_text_is_escaped_under_a_strict_csp(app: Any) -> None:
    """The case page escapes payment text and sends a CSP without inline script; the match is marked."""
    client, tokens, _writer = app
    sign_in(client, tokens["alice"])
    page = client.get("/case/0-7")
    assert page.status_code == 200
    assert HOSTILE not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<mark>Globex</mark>" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe" not in csp
    assert "1,250.50 EUR" in page.text
    assert client.get("/static/console.css").headers["content-security-policy"] == csp


def test_forms_need_the_csrf_token_and_roles_are_the_servers(app: Any) -> None:
    """A POST without the CSRF token is 403 and writes nothing; the analyst's forced approval is refused."""
    client, tokens, writer = app
    csrf = sign_in(client, tokens["alice"])
    refused = client.post("/case/0-7/decide", data={"action": "propose-release", "reason": "r"})
    assert refused.status_code == 403
    assert writer.transactions == []
    client.post(
        "/case/0-7/decide", data={"csrf": csrf, "action": "propose-release", "reason": "known customer"}
    )
    assert len(writer.transactions) == 1
    page = client.get("/case/0-7")
    assert "Release proposed by alice; waiting for a second approver." in page.text
    forced = client.post("/case/0-7/decide", data={"csrf": csrf, "action": "approve", "reason": "me"})
    assert "approver role" in forced.text  # the page the redirect leads to shows the refusal
    assert len(writer.transactions) == 1
    assert client.get("/queue.csv").status_code == 403  # CSV export is for approvers


def test_approver_exports_csv_and_metrics_show_the_cases(app: Any) -> None:
    """An approver gets the queue as CSV; /metrics shows the open case; /readyz is ready."""
    client, tokens, _writer = app
    sign_in(client, tokens["bob"])
    export = client.get("/queue.csv")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert "ev-1" in export.text
    metrics = client.get("/metrics").text
    assert 'txscreen_review_cases{status="open"} 1.0' in metrics
    assert "txscreen_review_oldest_open_case_seconds" in metrics
    assert client.get("/readyz").status_code == 200
    live = client.get("/live")
    assert live.status_code == 200
    assert "No worker metrics are configured" in live.text
    assert client.get("/entries").status_code == 200
    assert "ev-1" in client.get("/?q=globex").text  # search by a party or entity name
    assert client.get("/healthz").text == "alive."


def test_sign_out_ends_the_session(app: Any) -> None:
    """After sign-out the same cookie no longer opens a page."""
    client, tokens, _writer = app
    csrf = sign_in(client, tokens["alice"])
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303
