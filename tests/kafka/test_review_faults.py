"""The review service under faults: SIGKILL during 200 releases, and a second instance fencing the first."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from schemas.decisions import Action, decode_decision
from streams.review.app import create_app
from streams.review.server import build_service
from tests.kafka.review_support import ReviewEnv, Server, block, make_review_env, payment, wait_for
from tests.kafka.test_kafka_worker import read_all

pytestmark = pytest.mark.kafka

CASES = 200
KILLS = 3


@pytest.fixture
def env(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> ReviewEnv:
    """Fresh review topics and a users file."""
    return make_review_env(kafka_bootstrap, make_topics, unique_name, tmp_path)


def call_until_done(url: str, headers: dict[str, str], body: dict[str, str], stop: threading.Event) -> str:
    """POST until the service answers 200 (it may be dead, restarting or answer 503 meanwhile)."""
    while not stop.is_set():
        try:
            answer = httpx.post(url, json=body, headers=headers, timeout=30)
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
        if answer.status_code == 200:
            return str(answer.json()["outcome"])
        assert answer.status_code == 503, answer.text
        time.sleep(0.2)
    raise AssertionError("stopped")


def test_releases_are_exactly_once_while_the_service_is_killed_three_times(
    env: ReviewEnv, tmp_path: Path
) -> None:
    """200 releases, SIGKILL ×3: each event is on the cleared topic once; each case's decisions complete."""
    block(env, [payment(f"ev-{i:03d}", "Globex Corporation") for i in range(CASES)])
    server = Server(env, tmp_path / "serve.log")
    server.start()
    try:
        cases = httpx.get(f"{server.url}/cases", headers=env.header("vic"), timeout=30).json()["cases"]
        ids = [c["case_id"] for c in cases]
        assert len(ids) == CASES
        done: list[str] = []
        stop = threading.Event()
        failure: list[BaseException] = []

        def drive() -> None:
            try:
                for case_id in ids:
                    url = f"{server.url}/cases/{case_id}/decisions"
                    propose = {"action": "propose-release", "reason": "verified by phone"}
                    assert call_until_done(url, env.header("alice"), propose, stop) == "proposed"
                    outcome = call_until_done(url, env.header("bob"), {"action": "approve"}, stop)
                    assert outcome == "released"
                    done.append(case_id)
            except BaseException as exc:
                failure.append(exc)

        driver = threading.Thread(target=drive)
        driver.start()
        for kill in range(1, KILLS + 1):
            wait_for(
                lambda k=kill: len(done) >= k * CASES // (KILLS + 1) or bool(failure),
                timeout=300,
                what="releases",
            )
            time.sleep(0.05 * kill)  # land the kill at a different point of a release each time
            server.kill()
            server.start()
        driver.join(600)
        stop.set()
        assert not failure, failure
        assert len(done) == CASES
    finally:
        server.stop()
    released = Counter(orjson.loads(m.value())["id"] for m in read_all(env.bootstrap, env.topics.cleared))
    assert released == Counter({f"ev-{i:03d}": 1 for i in range(CASES)})
    by_case: dict[str, list[Action]] = {}
    for message in read_all(env.bootstrap, env.topics.decisions):
        decision = decode_decision(message.value())
        by_case.setdefault(decision.case_id, []).append(decision.action)
    assert sorted(by_case) == sorted(ids)
    for actions in by_case.values():
        assert actions == [Action.PROPOSE_RELEASE, Action.APPROVE, Action.RELEASE]


def test_a_second_instance_fences_the_first(env: ReviewEnv) -> None:
    """Two instances with one transactional id: the older one can no longer write, so only one releases."""
    block(env, [payment("ev-f", "Globex Corporation")])
    fenced: list[object] = []
    old, old_follower = build_service(env.settings(), on_fenced=fenced.append)
    new, new_follower = build_service(env.settings(), on_fenced=fenced.append)
    try:
        with TestClient(create_app(old)) as client:
            (case,) = client.get("/cases", headers=env.header("vic")).json()["cases"]
            body = {"action": "propose-release", "reason": "x"}
            answer = client.post(
                f"/cases/{case['case_id']}/decisions", json=body, headers=env.header("alice")
            )
            assert answer.status_code == 503
            assert "fenced" in answer.json()["detail"]
            assert len(fenced) == 1
        with TestClient(create_app(new)) as client:
            answer = client.post(
                f"/cases/{case['case_id']}/decisions", json=body, headers=env.header("alice")
            )
            assert answer.status_code == 200
    finally:
        for follower in (old_follower, new_follower):
            follower.stop()
    assert [decode_decision(m.value()).action for m in read_all(env.bootstrap, env.topics.decisions)] == [
        Action.PROPOSE_RELEASE
    ]
