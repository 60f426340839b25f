"""The review console in a real Chromium (Debian's, driven by Playwright) on a real broker and worker.

An analyst proposes a release, cannot approve it, an approver approves it and the event reaches the
cleared topic; payment text with HTML renders as text under a strict CSP; pages need a session and
the API a token; a POST without the CSRF token is refused. The run writes screenshots of the queue
and of a case page to ``build/screenshots/`` (not committed; ``docs/`` holds one of each).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from streams.headers import CASE, VERDICT, last_header
from streams.localbroker.broker import free_ports
from tests.kafka.review_support import VALID_LIST, ReviewEnv, make_review_env, payment
from tests.kafka.test_kafka_worker import read_all

pytestmark = [pytest.mark.kafka, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "screenshots"
CHROMIUM = os.environ.get("TXSCREEN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
XSS = "<img src=x onerror=alert(1)> <script>alert(1)</script>"


def http(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Status and body of a GET (no redirect followed)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *_args: object, **_kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (http URL of the test)
        with opener.open(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` until it holds (fails the test after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"{what} within {timeout} s")


class Processes:
    """Subprocesses of one test, stopped after it."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.tmp_path / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", *args], stdout=log, stderr=subprocess.STDOUT, cwd=REPO
        )
        self.started.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    """Start subprocesses; they are stopped after the test."""
    running = Processes(tmp_path)
    yield running
    running.stop()


@pytest.fixture
def env(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> ReviewEnv:
    """Topics, users (alice analyst, bob and carol approvers, vic viewer) and tokens."""
    return make_review_env(kafka_bootstrap, make_topics, unique_name, tmp_path)


@pytest.fixture
def console(env: ReviewEnv, processes: Processes) -> str:
    """A real worker and the review service with its console; the console's base URL."""
    metrics_port, service_port = free_ports(2)
    processes.start(
        "worker", "run", *env.topic_flags(), "--group-id", f"g-{env.transactional_id}",
        "--watchlist", str(VALID_LIST), "--metrics-listen", f"127.0.0.1:{metrics_port}",
        "--status-interval", "0",
    )  # fmt: skip
    events = [
        payment("pay-globex-1", "Globex Corporation", debtor="Jane Doe"),
        payment("pay-clean-1", "Initech Ltd"),
        orjson.dumps(
            {**orjson.loads(payment("pay-xss-1", "Globex Corporation", debtor=XSS)), "remittance": XSS}
        ),
    ]
    producer = Producer({"bootstrap.servers": env.bootstrap})
    for value in events:
        producer.produce(env.topics.input, value, orjson.loads(value)["id"].encode())
    assert producer.flush(30) == 0
    service = processes.start(
        "service", "review", "serve", *env.topic_flags(), "--listen", f"127.0.0.1:{service_port}",
        "--users", str(env.users_file), "--transactional-id", env.transactional_id,
        "--watchlist", str(VALID_LIST), "--worker-metrics", f"http://127.0.0.1:{metrics_port}",
    )  # fmt: skip
    url = f"http://127.0.0.1:{service_port}"

    def cases_ready() -> bool:
        assert service.poll() is None, processes.log("service")
        status, body = http(f"{url}/cases", env.header("bob"))
        return status == 200 and len(orjson.loads(body)["cases"]) == 2

    wait_for(cases_ready, 120, "the service did not show the two blocked cases")
    return url


@pytest.fixture
def browser() -> Iterator[object]:
    """Debian's Chromium through Playwright (headless); fails, never skips, when it cannot start."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (make test installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


def case_id_of(url: str, env: ReviewEnv, event_id: str) -> str:
    """The case id of the blocked event ``event_id``."""
    _status, body = http(f"{url}/cases", env.header("bob"))
    return next(c["case_id"] for c in orjson.loads(body)["cases"] if c["event_id"] == event_id)


def sign_in(page: object, url: str, token: str) -> None:
    """Sign in through the login form."""
    page.goto(f"{url}/login")  # type: ignore[attr-defined]
    page.fill("#token", token)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{url}/")  # type: ignore[attr-defined]


def test_analyst_proposes_approver_releases_and_the_event_is_cleared(
    console: str, env: ReviewEnv, browser: object
) -> None:
    """An analyst proposes (and cannot approve), an approver approves: one release on the cleared topic."""
    url = console
    case_id = case_id_of(url, env, "pay-globex-1")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 860})  # type: ignore[attr-defined]
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    sign_in(page, url, env.tokens["alice"])
    assert page.locator("table.queue tbody tr").count() == 2
    page.screenshot(path=str(SCREENSHOTS / "queue.png"), full_page=True)
    page.click(f"a[href='/case/{case_id}']")
    page.wait_for_url(f"{url}/case/{case_id}")
    assert page.locator("dd.has-hit mark").first.inner_text() == "Globex Corporation"
    assert page.locator("button[data-action=approve]").count() == 0  # an analyst is not offered approval
    page.fill("#reason-propose-release", "Known customer; the name is a coincidence.")
    page.click("button[data-action=propose-release]")
    page.wait_for_url(f"{url}/case/{case_id}")
    assert "proposed by alice" in page.inner_text("[data-testid=four-eyes]")
    assert "waiting for a second approver" in page.inner_text("[data-testid=four-eyes]")
    page.screenshot(path=str(SCREENSHOTS / "case.png"), full_page=True)

    # The same analyst cannot approve, even by posting the form herself: the server refuses.
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    forced = page.request.post(
        f"{url}/case/{case_id}/decide",
        form={"csrf": csrf or "", "action": "approve", "reason": "me too"},
        max_redirects=0,
    )
    assert forced.status == 303
    page.goto(f"{url}/case/{case_id}")
    assert "approver role" in page.inner_text(".flash.error")
    assert page.locator("span.pill.big").inner_text() == "pending"
    page.click("button.link")  # sign out
    page.wait_for_url(f"{url}/login")

    sign_in(page, url, env.tokens["bob"])
    page.goto(f"{url}/case/{case_id}")
    page.fill("#reason-approve", "Checked the customer file: false positive.")
    page.click("button[data-action=approve]")
    page.wait_for_url(f"{url}/case/{case_id}")
    assert page.locator("span.pill.big").inner_text() == "released"
    assert "released" in page.inner_text(".flash.ok")
    history = page.inner_text("ol.history")
    assert "alice" in history
    assert "bob" in history
    assert dialogs == []
    context.close()

    released = [
        m
        for m in read_all(env.bootstrap, env.topics.cleared)
        if last_header(m.headers(), CASE) == case_id.encode()
    ]
    assert len(released) == 1
    assert last_header(released[0].headers(), VERDICT) == b"released"
    assert orjson.loads(released[0].value())["id"] == "pay-globex-1"


def test_an_approver_cannot_approve_her_own_proposal(console: str, env: ReviewEnv, browser: object) -> None:
    """The proposer is not offered approval, and her forced approval gets the server's four-eyes refusal."""
    url = console
    case_id = case_id_of(url, env, "pay-globex-1")
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    sign_in(page, url, env.tokens["carol"])
    page.goto(f"{url}/case/{case_id}")
    page.fill("#reason-propose-confirm", "A true match: the creditor is the listed company.")
    page.click("button[data-action=propose-confirm]")
    page.wait_for_url(f"{url}/case/{case_id}")
    assert "proposed by carol" in page.inner_text("[data-testid=four-eyes]")
    assert page.locator("button[data-action=approve]").count() == 0
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    page.request.post(
        f"{url}/case/{case_id}/decide",
        form={"csrf": csrf or "", "action": "approve", "reason": "ok"},
        max_redirects=0,
    )
    page.goto(f"{url}/case/{case_id}")
    assert "four-eyes" in page.inner_text(".flash.error")
    assert page.locator("span.pill.big").inner_text() == "pending"
    context.close()


def test_hostile_payment_text_renders_as_text_under_a_strict_csp(
    console: str, env: ReviewEnv, browser: object
) -> None:
    """HTML in a payment shows as text, runs nothing (no dialog), and every page sends the strict CSP."""
    url = console
    case_id = case_id_of(url, env, "pay-xss-1")
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, url, env.tokens["bob"])
    for path in ("/", f"/case/{case_id}", "/entries", "/live"):
        response = page.goto(f"{url}{path}")
        assert response is not None
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
    page.goto(f"{url}/case/{case_id}")
    page.wait_for_timeout(500)
    assert XSS in page.inner_text("dl.fields")  # shown, as text, in the remittance and the debtor name
    assert page.locator("main img").count() == 0
    assert page.locator("main script").count() == 0
    page.goto(f"{url}/?q=pay-xss")
    assert XSS in page.inner_text("table.queue")
    assert dialogs == []
    context.close()


def test_no_session_means_login_and_no_token_means_401(console: str, env: ReviewEnv, browser: object) -> None:
    """Every page redirects to the login form without a session; every API call is 401 without a token."""
    url = console
    case_id = case_id_of(url, env, "pay-globex-1")
    for path in ("/", f"/case/{case_id}", "/entries", "/live", "/queue.csv"):
        status, _body = http(f"{url}{path}")
        assert status == 303, path
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{url}/case/{case_id}")
    assert page.url.startswith(f"{url}/login")
    for path in ("/cases", f"/cases/{case_id}", "/allowlist", "/users/me"):
        status, _body = http(f"{url}{path}")
        assert status == 401, path
    context.close()


def test_a_post_without_the_csrf_token_is_refused(console: str, env: ReviewEnv, browser: object) -> None:
    """A signed-in browser's POST without (or with a wrong) CSRF token changes nothing: 403."""
    url = console
    case_id = case_id_of(url, env, "pay-globex-1")
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    sign_in(page, url, env.tokens["alice"])
    form = {"action": "propose-release", "reason": "forged"}
    assert page.request.post(f"{url}/case/{case_id}/decide", form=form, max_redirects=0).status == 403
    wrong = {**form, "csrf": "not-the-token"}
    assert page.request.post(f"{url}/case/{case_id}/decide", form=wrong, max_redirects=0).status == 403
    assert page.request.post(f"{url}/logout", form={}, max_redirects=0).status == 403
    page.goto(f"{url}/case/{case_id}")
    assert page.locator("span.pill.big").inner_text() == "open"
    context.close()


def test_allowlist_page_four_eyes_and_live_view(console: str, env: ReviewEnv, browser: object) -> None:
    """An entry proposed and approved by two users on the page becomes active, then revoked; the live view
    shows the workers' counts; the service's /metrics show cases and entries."""
    url = console
    until = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    context = browser.new_context(viewport={"width": 1280, "height": 860})  # type: ignore[attr-defined]
    page = context.new_page()
    sign_in(page, url, env.tokens["alice"])
    page.goto(f"{url}/entries")
    page.fill("input[name=entity_id]", "acme-internal:globex")
    page.fill("input[name=name]", "Globex Corporation")
    page.fill("input[name=valid_until]", until)
    page.fill("form.stack textarea[name=reason]", "Our own subsidiary, checked by compliance.")
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    assert "proposed" in page.inner_text(".flash.ok")
    assert page.locator("table.entries span.pill.pending").count() == 1
    page.click("button.link")
    sign_in(page, url, env.tokens["bob"])
    page.goto(f"{url}/entries")
    page.fill("form.inline input[name=reason] >> nth=0", "Agreed.")
    with page.expect_navigation():
        page.click("form.inline button:has-text('Approve')")
    page.screenshot(path=str(SCREENSHOTS / "entries.png"), full_page=True)
    assert page.locator("table.entries span.pill.active").count() == 1

    _status, body = http(f"{url}/metrics")
    text = body.decode()
    assert 'txscreen_allowlist_entries{state="active"} 1.0' in text
    assert 'txscreen_review_cases{status="open"} 2.0' in text
    assert http(f"{url}/readyz")[0] == 200

    # The worker follows the allowlist topic: a new payment the entry covers is cleared and counted apart.
    wait_for(
        lambda: bool(read_all(env.bootstrap, env.topics.allowlist)), 30, "the entry did not reach the topic"
    )
    time.sleep(3)  # the worker's allowlist follower reads it within a poll or two
    producer = Producer({"bootstrap.servers": env.bootstrap})
    producer.produce(env.topics.input, payment("pay-globex-2", "Globex Corporation"), b"pay-globex-2")
    assert producer.flush(30) == 0

    def allowlisted_counted() -> bool:
        page.goto(f"{url}/live")
        return page.inner_text(".tile.allowlisted .value") == "1"

    wait_for(allowlisted_counted, 60, "the live view did not count the allowlisted payment")
    page.goto(f"{url}/entries")

    page.fill("form.inline input[name=reason] >> nth=0", "Subsidiary sold.")
    with page.expect_navigation():
        page.click("form.inline button:has-text('Revoke')")
    assert page.locator("table.entries span.pill.revoked").count() == 1

    def live_counts_blocked() -> bool:
        page.goto(f"{url}/live")
        return page.inner_text(".tile.blocked .value") == "2"

    wait_for(live_counts_blocked, 30, "the live view did not show the worker's two blocked events")
    assert page.inner_text(".tile.cleared .value") == "1"
    assert "up, 1 partition" in page.inner_text("ul.workers")
    page.screenshot(path=str(SCREENSHOTS / "live.png"), full_page=True)
    context.close()
