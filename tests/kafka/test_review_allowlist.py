"""The allowlist end to end on a real broker: the review service writes entries, the screeners apply them."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer
from fastapi.testclient import TestClient

from schemas.records import timestamp
from streams.headers import ALLOWLISTED, VERDICT, last_header
from streams.review.app import create_app
from streams.review.server import build_service
from tests.cli_runner import run_txscreen
from tests.kafka.review_support import REPO, VALID_LIST, ReviewEnv, make_review_env, payment, wait_for
from tests.kafka.test_kafka_worker import read_all

pytestmark = pytest.mark.kafka

EXTRA_LIST = """format: txscreen-watchlist/v1
list_id: review-test
entities:
  - id: initech
    type: entity
    names: [Initech Holdings]
    programs: [{program}]
  - id: hooli
    type: entity
    names: [Hooli Systems]
  - id: vandelay
    type: entity
    names: [Vandelay Industries]
  - id: ep-late
    type: entity
    names: [Latecomer Trading]
"""


@pytest.fixture
def lists(tmp_path: Path) -> tuple[Path, Path]:
    """The extra list as the service knows it (v1) and as the worker loads it later (v2: initech changed)."""
    v1, v2 = tmp_path / "extra-v1.yaml", tmp_path / "extra-v2.yaml"
    v1.write_text(EXTRA_LIST.format(program="P1"))
    v2.write_text(EXTRA_LIST.format(program="P2"))
    return v1, v2


@pytest.fixture
def env(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    unique_name: Callable[[str], str],
    tmp_path: Path,
    lists: tuple[Path, Path],
) -> ReviewEnv:
    """Review topics and users; the service loads the valid list and the extra list v1."""
    return make_review_env(
        kafka_bootstrap, make_topics, unique_name, tmp_path, watchlists=(VALID_LIST, lists[0])
    )


@contextmanager
def service(env: ReviewEnv, **overrides: object) -> Iterator[TestClient]:
    """The review service behind a test client."""
    svc, follower = build_service(env.settings(**overrides))
    try:
        with TestClient(create_app(svc)) as client:
            yield client
    finally:
        follower.stop()


def propose(
    client: TestClient, env: ReviewEnv, entity: str, until: timedelta = timedelta(days=30), **covers: str
) -> str:
    body = {
        "entity_id": entity,
        "valid_until": timestamp(datetime.now(UTC) + until),
        "reason": "known customer",
        **covers,
    }
    answer = client.post("/allowlist", json=body, headers=env.header("alice"))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["entry"]["entry_id"])


def approve(client: TestClient, env: ReviewEnv, entry_id: str) -> None:
    answer = client.post(f"/allowlist/{entry_id}/approve", json={"reason": "ok"}, headers=env.header("bob"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["entry"]["status"] == "active"


def produce(env: ReviewEnv, events: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": env.bootstrap, "enable.idempotence": True})
    for value in events:
        producer.produce(env.topics.input, value, orjson.loads(value)["id"].encode())
    assert producer.flush(30) == 0


def outputs(env: ReviewEnv) -> tuple[dict[str, list[tuple[str, bytes | None]]], set[str]]:
    """Cleared event ids with their headers, and blocked event ids."""
    cleared = {
        orjson.loads(m.value())["id"]: list(m.headers() or [])
        for m in read_all(env.bootstrap, env.topics.cleared)
    }
    blocked = {orjson.loads(m.value())["event"]["id"] for m in read_all(env.bootstrap, env.topics.blocked)}
    return cleared, blocked


def test_entries_apply_only_while_approved_unexpired_unrevoked_and_unchanged(
    env: ReviewEnv, lists: tuple[Path, Path], tmp_path: Path, unique_name: Callable[[str], str]
) -> None:
    """Approved entries clear covered events, with the header; unapproved/expired/revoked/changed do not."""
    with service(env) as client:
        cover = propose(client, env, "acme-internal:globex", name="Globex Corporation", scope="creditor")
        approve(client, env, cover)
        propose(client, env, "acme-internal:sea-breeze", name="SEA BREEZE")  # never approved
        expiring = propose(client, env, "review-test:hooli", until=timedelta(seconds=4), account="ACC-H")
        approve(client, env, expiring)
        revoked = propose(client, env, "review-test:vandelay", name="Vandelay Industries")
        approve(client, env, revoked)
        answer = client.post(
            f"/allowlist/{revoked}/revoke", json={"reason": "relationship ended"}, headers=env.header("alice")
        )
        assert answer.json()["entry"]["status"] == "revoked"
        changed = propose(client, env, "review-test:initech", name="Initech Holdings")
        approve(client, env, changed)
        export = client.get("/allowlist/export", headers=env.header("vic")).content
    time.sleep(4.5)  # the expiring entry is now expired
    events = [
        payment("ev-cover", "Globex Corporation"),
        payment("ev-two-hits", "Globex Corporation", debtor="SEA BREEZE"),
        payment("ev-unapproved", "SEA BREEZE"),
        payment("ev-expired", "Hooli Systems", account="ACC-H"),
        payment("ev-revoked", "Vandelay Industries"),
        payment("ev-changed", "Initech Holdings"),
    ]
    produce(env, events)
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streams.cli",
                "run",
                *env.topic_flags(),
                "--group-id",
                unique_name("group"),
                "--watchlist",
                str(VALID_LIST),
                "--watchlist",
                str(lists[1]),
                "--until-idle",
                "30",
            ],
            cwd=REPO,
            stdout=out,
            stderr=out,
        )
    try:
        wait_for(lambda: sum(map(len, outputs(env))) == len(events), timeout=120, what="the first events")
        cleared, blocked = outputs(env)
        assert set(cleared) == {"ev-cover"}
        assert last_header(cleared["ev-cover"], ALLOWLISTED) == cover.encode()
        assert last_header(cleared["ev-cover"], VERDICT) == b"cleared"
        assert blocked == {"ev-two-hits", "ev-unapproved", "ev-expired", "ev-revoked", "ev-changed"}
        # A new entry applies without a restart; a revoke stops it at once.
        produce(env, [payment("ev-late-1", "Latecomer Trading")])
        wait_for(lambda: "ev-late-1" in outputs(env)[1], timeout=60, what="ev-late-1 blocked")
        with service(env) as client:
            late = propose(client, env, "review-test:ep-late", name="latecomer trading")
            approve(client, env, late)
            wait_for(
                lambda: f"allowlist entry {late} approved" in log.read_text(),
                what="the worker to see the entry",
            )
            produce(env, [payment("ev-late-2", "Latecomer Trading")])
            wait_for(lambda: "ev-late-2" in outputs(env)[0], timeout=60, what="ev-late-2 cleared")
            client.post(f"/allowlist/{late}/revoke", json={"reason": "stop"}, headers=env.header("alice"))
            wait_for(
                lambda: f"allowlist entry {late} revoked" in log.read_text(),
                what="the worker to see the revoke",
            )
            produce(env, [payment("ev-late-3", "Latecomer Trading")])
            wait_for(lambda: "ev-late-3" in outputs(env)[1], timeout=60, what="ev-late-3 blocked")
    finally:
        worker.terminate()
        worker.wait(60)
    assert "is void: entity review-test:initech changed" in log.read_text()
    # The service, now on list v2, shows the changed and the expired entries as void, with the reason.
    with service(env, watchlists=(str(VALID_LIST), str(lists[1]))) as client:
        shown = {
            e["entry_id"]: e for e in client.get("/allowlist", headers=env.header("vic")).json()["entries"]
        }
    assert shown[changed]["status"] == "void"
    assert "changed" in shown[changed]["void_reason"]
    assert shown[expiring]["status"] == "void"
    assert "expired" in shown[expiring]["void_reason"]
    assert shown[cover]["status"] == "active"
    assert shown[revoked]["status"] == "revoked"
    # The file runner applies an export the same way.
    (tmp_path / "allow.jsonl").write_bytes(export)
    (tmp_path / "in.jsonl").write_bytes(b"\n".join(events[:3]) + b"\n")
    done = run_txscreen(
        "screen", str(tmp_path / "in.jsonl"), "--out", str(tmp_path / "out"),
        "--allowlist", str(tmp_path / "allow.jsonl"),
        "--watchlist", str(VALID_LIST), "--watchlist", str(lists[0]),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "cleared.jsonl").read_bytes() == events[0] + b"\n"
    assert len((tmp_path / "out" / "blocked.jsonl").read_bytes().splitlines()) == 2


def test_an_entry_needs_a_second_user_and_a_bounded_validity(env: ReviewEnv) -> None:
    """Self-approval of an entry is 403; valid_until past the limit, an unknown entity or no cover is 400."""
    with service(env) as client:
        own = client.post(
            "/allowlist",
            json={
                "entity_id": "acme-internal:globex",
                "name": "Globex",
                "valid_until": "2099-01-01",
                "reason": "r",
            },
            headers=env.header("bob"),
        )
        assert own.status_code == 400
        assert "366 days" in own.json()["detail"]
        entry = propose(client, env, "acme-internal:globex", name="Globex")
        mine = client.post(f"/allowlist/{entry}/approve", json={}, headers=env.header("alice"))
        assert mine.status_code == 403
        bob_entry = client.post(
            "/allowlist",
            json={
                "entity_id": "acme-internal:globex",
                "account": "A1",
                "valid_until": timestamp(datetime.now(UTC) + timedelta(days=2)),
                "reason": "r",
            },
            headers=env.header("bob"),
        ).json()["entry"]["entry_id"]
        self_approval = client.post(f"/allowlist/{bob_entry}/approve", json={}, headers=env.header("bob"))
        assert self_approval.status_code == 403
        assert "four-eyes" in self_approval.json()["detail"]
        unknown = client.post(
            "/allowlist",
            json={"entity_id": "nobody", "name": "x", "valid_until": "2030-01-01", "reason": "r"},
            headers=env.header("alice"),
        )
        assert unknown.status_code == 400
        viewer = client.post(f"/allowlist/{entry}/approve", json={}, headers=env.header("vic"))
        assert viewer.status_code == 403
