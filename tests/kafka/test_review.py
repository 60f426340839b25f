"""The review service on a real broker: four-eyes, exactly-once release, restart, bad input."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from schemas.decisions import decode_decision
from streams.headers import CASE, DECISION, VERDICT, last_header
from streams.review.app import create_app
from streams.review.server import build_service
from tests.cli_runner import run_txscreen
from tests.kafka.review_support import ReviewEnv, block, make_review_env, payment
from tests.kafka.test_kafka_worker import read_all

pytestmark = pytest.mark.kafka


@pytest.fixture
def env(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> ReviewEnv:
    """Fresh review topics and a users file (alice analyst, bob and carol approvers, vic viewer)."""
    return make_review_env(kafka_bootstrap, make_topics, unique_name, tmp_path)


@contextmanager
def running(env: ReviewEnv, **overrides: object) -> Iterator[TestClient]:
    """The service, rebuilt from the topics, behind a test client; stopped after."""
    service, follower = build_service(env.settings(**overrides))
    try:
        with TestClient(create_app(service)) as client:
            yield client
    finally:
        follower.stop()
        service.writer.close()


def decide(
    client: TestClient, env: ReviewEnv, user: str, case_id: str, action: str, *, reason: str = "checked"
):
    return client.post(
        f"/cases/{case_id}/decisions", json={"action": action, "reason": reason}, headers=env.header(user)
    )


def case_ids(client: TestClient, env: ReviewEnv) -> list[str]:
    return [c["case_id"] for c in client.get("/cases", headers=env.header("vic")).json()["cases"]]


def test_four_eyes_is_enforced_and_a_release_happens_once(env: ReviewEnv) -> None:
    """401 without a valid token; 403 for viewer proposals, analyst approvals, self-approval; one release."""
    block(env, [payment("ev-1", "Globex Corporation")])
    with running(env) as client:
        (case_id,) = case_ids(client, env)
        body = {"action": "propose-release", "reason": "known customer"}
        assert client.get("/cases").status_code == 401
        assert client.get("/cases", headers={"Authorization": "Bearer nope.nope"}).status_code == 401
        assert client.post(f"/cases/{case_id}/decisions", json=body).status_code == 401
        viewer = decide(client, env, "vic", case_id, "propose-release")
        assert viewer.status_code == 403
        assert "viewer" in viewer.json()["detail"]
        assert decide(client, env, "bob", case_id, "propose-release").json()["outcome"] == "proposed"
        self_approval = decide(client, env, "bob", case_id, "approve")
        assert self_approval.status_code == 403
        assert "four-eyes" in self_approval.json()["detail"]
        analyst = decide(client, env, "alice", case_id, "approve")
        assert analyst.status_code == 403
        assert "approver role" in analyst.json()["detail"]
        released = decide(client, env, "carol", case_id, "approve")
        assert released.status_code == 200
        assert released.json()["outcome"] == "released"
        again = decide(client, env, "carol", case_id, "approve")
        assert again.status_code == 200
        assert again.json()["outcome"] == "released"
        assert decide(client, env, "alice", case_id, "propose-confirm").status_code == 409
    (record,) = read_all(env.bootstrap, env.topics.cleared)
    assert record.value() == payment("ev-1", "Globex Corporation")
    assert record.key() == b"ev-1"
    headers = record.headers() or []
    assert last_header(headers, VERDICT) == b"released"
    assert last_header(headers, CASE) == case_id.encode()
    assert ("trace-id", b"t-ev-1") in headers
    decisions = [decode_decision(m.value()) for m in read_all(env.bootstrap, env.topics.decisions)]
    assert [d.action.value for d in decisions] == ["propose-release", "approve", "release"]
    assert last_header(headers, DECISION) == decisions[-1].decision_id.encode()
    assert decisions[-1].entity_ids == ["acme-internal:globex"]
    assert decisions[-1].watchlist_version.startswith("sha256:")


def test_a_confirmation_goes_to_the_confirmed_topic_and_a_proposal_can_return_to_the_queue(
    env: ReviewEnv,
) -> None:
    """Withdraw and reject requeue a case; a confirmed case carries the blocked record and decisions."""
    block(env, [payment("ev-2", "Globex Corporation")])
    with running(env) as client:
        (case_id,) = case_ids(client, env)
        assert decide(client, env, "alice", case_id, "propose-release").status_code == 200
        assert decide(client, env, "bob", case_id, "withdraw").status_code == 403
        assert decide(client, env, "alice", case_id, "withdraw").json()["case"]["status"] == "open"
        assert decide(client, env, "alice", case_id, "propose-confirm").status_code == 200
        assert decide(client, env, "bob", case_id, "reject").json()["case"]["status"] == "open"
        assert decide(client, env, "alice", case_id, "propose-confirm").status_code == 200
        assert decide(client, env, "bob", case_id, "approve").json()["outcome"] == "confirmed"
    assert read_all(env.bootstrap, env.topics.cleared) == []
    (confirmed,) = read_all(env.bootstrap, env.topics.confirmed)
    body = orjson.loads(confirmed.value())
    assert body["case_id"] == case_id
    assert body["blocked"]["event"]["id"] == "ev-2"
    assert [d["action"] for d in body["decisions"]][-2:] == ["approve", "confirm"]


def test_two_approvers_approving_at_once_release_once(env: ReviewEnv) -> None:
    """Two approvers approving the same case concurrently give one release and the same outcome."""
    block(env, [payment(f"ev-c{i}", "Globex Corporation") for i in range(5)])
    with running(env) as client:
        ids = case_ids(client, env)
        for case_id in ids:
            assert decide(client, env, "alice", case_id, "propose-release").status_code == 200
        outcomes: list[tuple[str, int, str]] = []

        def approve(user: str, case_id: str) -> None:
            answer = decide(client, env, user, case_id, "approve")
            outcomes.append((case_id, answer.status_code, answer.json().get("outcome", "")))

        threads = [threading.Thread(target=approve, args=(u, c)) for c in ids for u in ("bob", "carol")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(outcomes) == sorted((c, 200, "released") for c in ids for _ in range(2))
    released = [m.value() for m in read_all(env.bootstrap, env.topics.cleared)]
    assert sorted(orjson.loads(v)["id"] for v in released) == sorted(f"ev-c{i}" for i in range(5))


def test_a_restart_rebuilds_the_same_cases(env: ReviewEnv) -> None:
    """The cases (status, proposal, approvers) are the same after a restart: the topics are the state."""
    block(env, [payment(f"ev-r{i}", "Globex Corporation") for i in range(4)])
    with running(env, approvals=3) as client:
        first, second, third, _fourth = case_ids(client, env)
        decide(client, env, "alice", first, "propose-release")
        decide(client, env, "bob", first, "approve")
        decide(client, env, "alice", second, "propose-confirm")
        decide(client, env, "bob", second, "approve")
        decide(client, env, "carol", second, "approve")
        decide(client, env, "carol", third, "propose-release")
        before = client.get("/cases", headers=env.header("vic")).json()["cases"]
    with running(env, approvals=3) as client:
        after = client.get("/cases", headers=env.header("vic")).json()["cases"]
    strip = [{k: v for k, v in c.items() if not k.startswith("age")} for c in before]
    assert strip == [{k: v for k, v in c.items() if not k.startswith("age")} for c in after]
    assert [c["status"] for c in after] == ["pending", "confirmed", "pending", "open"]
    assert after[0]["approvers"] == ["bob"]


def test_bad_requests_are_refused_with_a_sentence(env: ReviewEnv) -> None:
    """Unknown case 404, malformed JSON 400, a 2 MiB body 413, an unknown action 400; each with a reason."""
    block(env, [payment("ev-b", "Globex Corporation")])
    with running(env) as client:
        (case_id,) = case_ids(client, env)
        auth = env.header("alice")
        unknown = client.get("/cases/9-999", headers=auth)
        assert unknown.status_code == 404
        assert unknown.json()["detail"] == "there is no case 9-999."
        malformed = client.post(
            f"/cases/{case_id}/decisions",
            content=b"{not json",
            headers={**auth, "Content-Type": "application/json"},
        )
        assert malformed.status_code == 400
        assert "not valid JSON" in malformed.json()["detail"]
        huge = client.post(f"/cases/{case_id}/decisions", content=b"x" * (2 * 1024 * 1024), headers=auth)
        assert huge.status_code == 413
        assert huge.json()["detail"].endswith(".")
        action = decide(client, env, "alice", case_id, "delete-everything")
        assert action.status_code == 400
        assert "unknown action" in action.json()["detail"]
        assert client.get("/openapi.json").status_code == 200


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("users: [name: x\n", "is not valid YAML"),
        ("users:\n- {name: x, roles: [root], token_id: a, token_hash: 'scrypt:1'}\n", "unknown role 'root'"),
    ],
)
def test_the_service_refuses_to_start_with_a_bad_users_file(
    env: ReviewEnv, tmp_path: Path, content: str, expected: str
) -> None:
    """A users file that does not parse or names an unknown role stops ``review serve``: exit 2."""
    users = tmp_path / "bad-users.yaml"
    users.write_text(content)
    done = run_txscreen(
        "review", "serve", *env.topic_flags(), "--users", str(users), "--listen", "127.0.0.1:1"
    )
    assert done.returncode == 2
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
