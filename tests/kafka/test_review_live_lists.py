"""Live lists beyond the worker, on a real broker: the review service follows the watchlist topic, and
``txscreen rescreen`` applies the allowlist."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from confluent_kafka import Producer
from fastapi.testclient import TestClient

from matchers.sources import load_watchlists
from matchers.watchlist import watchlist_version
from schemas.records import timestamp
from streams.headers import RESCREEN, WATCHLIST_VERSION, last_header
from streams.review.app import create_app
from streams.review.server import build_service
from streams.settings import KafkaSettings
from streams.watchlists.publish import ensure_topic
from tests.cli_runner import run_txscreen
from tests.kafka.review_support import Server, make_review_env, payment, wait_for
from tests.kafka.test_kafka_worker import read_all

pytestmark = pytest.mark.kafka

#: A list whose entity ``initech`` changes between versions (its program), and a newly listed party.
LIST = """format: txscreen-watchlist/v1
list_id: live-review
entities:
  - id: initech
    type: entity
    names: [Initech Holdings]
    programs: [{program}]
  - id: hooli
    type: entity
    names: [Hooli Systems]
{extra}"""
NEWLY_LISTED = "Quorvane Maritime Holdings"
NEW_ENTITY = f"""  - id: quorvane
    type: entity
    names: [{NEWLY_LISTED}]
"""


def write_list(path: Path, program: str = "P1", extra: str = "") -> str:
    path.write_text(LIST.format(program=program, extra=extra), encoding="utf-8")
    return str(path)


def entity_id(source: str, name: str) -> str:
    """The id the lists give the entity named ``name``."""
    return next(e.id for wl in load_watchlists([source]) for e in wl.entities if e.primary_name == name)


def publish(bootstrap: str, topic: str, source: str) -> str:
    """``txscreen lists publish SOURCE``; the version published."""
    done = run_txscreen(
        "lists", "publish", source, "--bootstrap-servers", bootstrap, "--watchlist-topic", topic
    )
    assert done.returncode == 0, done.stderr
    version = watchlist_version(load_watchlists([source]))
    assert version in done.stdout
    return version


def allow_list(server: Server, token: str) -> list[dict[str, object]]:
    """``txscreen allow list --json`` against the running service."""
    done = run_txscreen("allow", "list", "--json", "--server", server.url, "--token", token)
    assert done.returncode == 0, done.stderr
    entries: list[dict[str, object]] = orjson.loads(done.stdout)
    return entries


@pytest.mark.timeout(300)
def test_the_review_service_waits_for_a_version_then_follows_the_topic_without_restart(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """Started on an empty watchlist topic it serves nothing (SIGTERM then: exit 0); after v1 it serves;
    v2 changes an allowlisted entity and the entry shows void with the reason in ``allow list --json``,
    the same process throughout."""
    env = make_review_env(kafka_bootstrap, make_topics, unique_name, tmp_path)
    watch = unique_name("watchlists")
    v1 = write_list(tmp_path / "v1.yaml", "P1")
    v2 = write_list(tmp_path / "v2.yaml", "P2")
    ensure_topic(KafkaSettings(bootstrap_servers=kafka_bootstrap), watch)  # the topic, holding no version
    server = Server(env, tmp_path / "review.log", ["--watchlist-topic", watch])
    try:
        server.launch()
        wait_for(lambda: "consuming nothing" in server.log.read_text(), 60, "the service saying it waits")
        time.sleep(2)
        assert server.process is not None
        assert server.process.poll() is None, server.log.read_text()
        assert not server.answering(), "the service answered before any list version was built"
        stopped = Server(env, tmp_path / "stopped.log", ["--watchlist-topic", watch])
        stopped.launch()
        wait_for(lambda: "consuming nothing" in stopped.log.read_text(), 60, "the second service waiting")
        assert stopped.process is not None
        stopped.process.terminate()
        assert stopped.process.wait(30) == 0, stopped.log.read_text()  # SIGTERM while waiting: clean stop
        assert "nothing was served" in stopped.log.read_text()
        version1 = publish(kafka_bootstrap, watch, v1)
        server.wait_answers()
        pid = server.process.pid
        assert version1 in httpx.get(f"{server.url}/readyz", timeout=5).text

        entity = entity_id(v1, "Initech Holdings")
        body = {
            "entity_id": entity,
            "name": "Initech Holdings",
            "scope": "creditor",
            "valid_until": timestamp(datetime.now(UTC) + timedelta(days=30)),
            "reason": "known customer",
        }
        proposed = httpx.post(f"{server.url}/allowlist", json=body, headers=env.header("alice"), timeout=10)
        assert proposed.status_code == 200, proposed.text
        entry_id = proposed.json()["entry"]["entry_id"]
        approved = httpx.post(
            f"{server.url}/allowlist/{entry_id}/approve", json={"reason": "ok"}, headers=env.header("bob"),
            timeout=10,
        )  # fmt: skip
        assert approved.status_code == 200, approved.text
        (entry,) = allow_list(server, env.tokens["vic"])
        assert entry["status"] == "active"

        version2 = publish(kafka_bootstrap, watch, v2)

        def void() -> bool:
            (shown,) = allow_list(server, env.tokens["vic"])
            return shown["status"] == "void"

        wait_for(void, timeout=60, what="the entry to show void under v2")
        (entry,) = allow_list(server, env.tokens["vic"])
        assert entry["entry_id"] == entry_id
        assert f"entity {entity} changed in the lists" in str(entry["void_reason"])
        assert server.process.poll() is None  # the same process: no restart
        assert server.process.pid == pid
        ready = httpx.get(f"{server.url}/readyz", timeout=5)
        assert ready.status_code == 200
        assert version2 in ready.text
        metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
        assert f'txscreen_watchlist_info{{version="{version2}"}} 1.0' in metrics
        assert version1 not in metrics
        published = [
            float(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith("txscreen_watchlist_published_timestamp_seconds ")
        ]
        assert len(published) == 1
        assert abs(published[0] - time.time()) < 600
        reapproval = httpx.post(
            f"{server.url}/allowlist",
            json={**body, "reason": "checked again"},
            headers=env.header("alice"),
            timeout=10,
        )
        assert reapproval.status_code == 200, reapproval.text  # a new entry records v2's hash
        assert reapproval.json()["entry"]["entity_hash"] != entry["entity_hash"]
        assert "replace" in server.log.read_text()
    finally:
        server.stop()


def send(bootstrap: str, topic: str, events: Sequence[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    for value in events:
        producer.produce(topic, value, orjson.loads(value)["id"].encode())
    assert producer.flush(30) == 0


@pytest.mark.timeout(300)
def test_rescreen_does_not_block_again_what_an_approved_allowlist_entry_covers(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """Two events cleared under v1; v2 lists their counterparty; an approved entry covers one account:
    rescreen blocks only the other, and says how many the allowlist cleared."""
    env = make_review_env(kafka_bootstrap, make_topics, unique_name, tmp_path)
    watch = unique_name("watchlists")
    v1 = write_list(tmp_path / "v1.yaml")
    v2 = write_list(tmp_path / "v2.yaml", extra=NEW_ENTITY)
    version1 = publish(kafka_bootstrap, watch, v1)
    send(
        kafka_bootstrap,
        env.topics.input,
        [
            payment("ev-covered", NEWLY_LISTED, account="DE001"),
            payment("ev-other", NEWLY_LISTED, account="DE999"),
        ],
    )
    ran = run_txscreen(
        "run", *env.topic_flags(), "--group-id", unique_name("worker"), "--watchlist-topic", watch,
        "--until-idle", "3",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    cleared = {m.key(): m for m in read_all(kafka_bootstrap, env.topics.cleared)}
    assert set(cleared) == {b"ev-covered", b"ev-other"}
    for message in cleared.values():
        assert last_header(message.headers() or [], WATCHLIST_VERSION) == version1.encode()

    version2 = publish(kafka_bootstrap, watch, v2)
    service, follower = build_service(env.settings(watchlists=(), watchlist_topic=watch))
    try:
        assert service.watchlist_version == version2
        with TestClient(create_app(service)) as client:
            body = {
                "entity_id": entity_id(v2, NEWLY_LISTED),
                "account": "DE001",
                "scope": "creditor",
                "valid_until": timestamp(datetime.now(UTC) + timedelta(days=30)),
                "reason": "known customer, account checked",
            }
            proposed = client.post("/allowlist", json=body, headers=env.header("alice"))
            assert proposed.status_code == 200, proposed.text
            entry_id = proposed.json()["entry"]["entry_id"]
            approved = client.post(
                f"/allowlist/{entry_id}/approve", json={"reason": "ok"}, headers=env.header("bob")
            )
            assert approved.json()["entry"]["status"] == "active", approved.text
    finally:
        follower.stop()
        if service.list_follower is not None:
            service.list_follower.close()
        service.writer.close()

    done = run_txscreen(
        "rescreen", "--since", "1h", *env.topic_flags(), "--watchlist-topic", watch,
        "--group-id", unique_name("rescreen"), "--idle", "3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 newly blocked" in done.stderr
    assert "1 cleared by the allowlist" in done.stderr
    rescreened = [
        m for m in read_all(kafka_bootstrap, env.topics.blocked) if last_header(m.headers() or [], RESCREEN)
    ]
    assert [m.key() for m in rescreened] == [b"ev-other"]  # without an entry covering it, it is blocked
    assert last_header(rescreened[0].headers() or [], RESCREEN) == f"{version1} -> {version2}".encode()
