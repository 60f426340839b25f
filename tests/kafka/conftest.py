"""The Kafka broker every test under tests/kafka runs against, and per-test topics and groups.

Which broker (decided once per session, never skipped):

1. ``KAFKA_BOOTSTRAP_SERVERS`` when set: an existing cluster (it must answer within 60 s);
2. else a Docker engine that answers ``ping``/``docker info``: an ``apache/kafka`` container through
   testcontainers (imported only then; a missing package fails with an install hint);
3. else the project's own ``LocalBroker`` (streams/localbroker/broker.py) on free ports with a temporary
   state dir, jars from the usual cache (``TXSCREEN_KAFKA_CACHE`` or ``~/.cache/txscreen/kafka-<version>``).

If none of these gives a broker, every Kafka test fails with the reason.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.errors import BrokerError
from streams.localbroker.broker import (
    KAFKA_VERSION,
    BrokerConfig,
    LocalBroker,
    free_ports,
    server_settings,
    wait_until_answers,
)

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
START_TIMEOUT = 300.0  # the first start on a fresh machine also fetches the jars
TEST_HEAP = "512m"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/kafka ``kafka``, whether or not its module says so."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.kafka)


# --- choosing the broker ---------------------------------------------------------------------------


def _cache_dir() -> Path | None:
    raw = os.environ.get("TXSCREEN_KAFKA_CACHE", "").strip()
    return Path(raw).expanduser() if raw else None


def _docker_answers() -> bool:
    """Whether a Docker engine answers within a few seconds (the docker SDK if present, else the CLI)."""
    try:
        import docker
    except ImportError:
        docker = None
    if docker is not None:
        try:
            return bool(docker.from_env(timeout=5).ping())
        except Exception:  # any failure means "no engine here"
            return False
    executable = shutil.which("docker")
    if executable is None:
        return False
    try:
        done = subprocess.run([executable, "info"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _container_env(host_port: int) -> dict[str, str]:
    """apache/kafka image settings equal to the local broker's, as KAFKA_* variables."""
    settings = dict(server_settings(BrokerConfig()))
    del settings["log.dirs"]
    # Clients use the published port; the broker talks to itself (transaction markers) on BROKER.
    settings["listeners"] = "PLAINTEXT://0.0.0.0:9092,BROKER://localhost:9094,CONTROLLER://localhost:9093"
    settings["advertised.listeners"] = f"PLAINTEXT://127.0.0.1:{host_port},BROKER://localhost:9094"
    settings["inter.broker.listener.name"] = "BROKER"
    settings["listener.security.protocol.map"] = "PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT"
    settings["controller.quorum.voters"] = "1@localhost:9093"
    # The image maps KAFKA_A_B to a.b ('_' is written '__' and '-' is written '___').
    return {
        "KAFKA_" + key.replace("-", "___").replace("_", "__").replace(".", "_").upper(): value
        for key, value in settings.items()
    }


def _container_broker() -> Iterator[str]:
    try:
        from testcontainers.core.container import DockerContainer
    except ImportError:
        pytest.fail(
            "a Docker engine answers but testcontainers is not installed: pip install testcontainers "
            "(or set KAFKA_BOOTSTRAP_SERVERS to use a running broker)",
            pytrace=False,
        )
    (host_port,) = free_ports(1)
    image = os.environ.get("TXSCREEN_KAFKA_IMAGE", f"apache/kafka:{KAFKA_VERSION}")
    container = DockerContainer(image).with_bind_ports(9092, host_port)
    for name, value in _container_env(host_port).items():
        container = container.with_env(name, value)
    container.start()
    try:
        bootstrap = f"127.0.0.1:{host_port}"
        if not wait_until_answers(bootstrap, timeout=START_TIMEOUT):
            logs = b"".join(container.get_logs()).decode(errors="replace")[-3000:]
            pytest.fail(f"the {image} container did not answer on {bootstrap}:\n{logs}", pytrace=False)
        yield bootstrap
    finally:
        container.stop()


def _local_broker(state_dir: Path) -> Iterator[str]:
    port, controller_port = free_ports(2)
    config = BrokerConfig(
        port=port,
        controller_port=controller_port,
        state_dir=state_dir,
        cache_dir=_cache_dir(),
        heap=TEST_HEAP,
    )
    broker = LocalBroker(config)
    try:
        yield broker.start(timeout=START_TIMEOUT)
    except BrokerError as exc:
        pytest.fail(f"could not start the local Kafka broker for the tests: {exc}", pytrace=False)
    finally:
        broker.stop()


def choose_broker(state_dir: Path) -> Iterator[str]:
    """Yield ``host:port`` of the broker to test against (see the module docstring), stopping it after."""
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if given:
        if not wait_until_answers(given, timeout=60.0):
            pytest.fail(f"KAFKA_BOOTSTRAP_SERVERS={given} does not answer a metadata request", pytrace=False)
        yield given
    elif _docker_answers():
        yield from _container_broker()
    else:
        yield from _local_broker(state_dir)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of the session's broker (see the module docstring for which one)."""
    yield from choose_broker(tmp_path_factory.mktemp("kafka-state"))


@pytest.fixture(scope="session")
def kafka_admin(kafka_bootstrap: str) -> AdminClient:
    """An admin client on the session's broker."""
    return AdminClient({"bootstrap.servers": kafka_bootstrap})


# --- per-test names --------------------------------------------------------------------------------


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``unique_name(kind)``: a name no other test (or run) uses, readable as ``kind-test-name-hex``."""
    test = re.sub(r"[^a-zA-Z0-9]+", "-", request.node.name).strip("-")[:60]

    def make(kind: str) -> str:
        return f"{kind}-{test}-{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def make_topics(
    kafka_admin: AdminClient, unique_name: Callable[[str], str]
) -> Iterator[Callable[..., list[str]]]:
    """``make_topics("in", "out", partitions=1, config=None)``: unique topics, deleted after the test."""
    created: list[str] = []

    def make(*kinds: str, partitions: int = 1, config: dict[str, str] | None = None) -> list[str]:
        names = [unique_name(kind) for kind in kinds]
        new = [NewTopic(name, partitions, 1, config=dict(config or {})) for name in names]
        for future in kafka_admin.create_topics(new, operation_timeout=30, request_timeout=60).values():
            future.result()
        created.extend(names)
        return names

    yield make
    if created:
        for topic, future in kafka_admin.delete_topics(created, operation_timeout=30).items():
            try:
                future.result()
            except KafkaException as exc:  # best effort: the names are unique anyway
                logger.warning("could not delete test topic %s: %s", topic, exc)


@pytest.fixture
def unique_topic(make_topics: Callable[..., list[str]]) -> str:
    """One freshly created single-partition topic."""
    (topic,) = make_topics("topic")
    return topic


@pytest.fixture
def group_id(unique_name: Callable[[str], str]) -> str:
    """A consumer group id no other test uses."""
    return unique_name("group")


# --- brokers a test owns ---------------------------------------------------------------------------


@pytest.fixture
def local_broker_factory(tmp_path: Path) -> Iterator[Callable[..., LocalBroker]]:
    """``local_broker_factory(start=True, **config)``: a LocalBroker of the test's own on free ports.

    For tests that kill or restart a broker; every one made is stopped at the end of the test.
    """
    brokers: list[LocalBroker] = []

    def make(*, start: bool = True, **overrides: Any) -> LocalBroker:
        port, controller_port = free_ports(2)
        settings: dict[str, Any] = {
            "port": port,
            "controller_port": controller_port,
            "state_dir": tmp_path / f"broker-{len(brokers)}",
            "cache_dir": _cache_dir(),
            "heap": TEST_HEAP,
            **overrides,
        }
        broker = LocalBroker(BrokerConfig(**settings))
        brokers.append(broker)
        if start:
            broker.start(timeout=START_TIMEOUT)
        return broker

    yield make
    for broker in brokers:
        broker.stop(timeout=30)  # SIGKILL after 30 s
