"""The local broker's launcher without Java: settings, pom, jar cache, ports, pid files and CLI flags."""

from __future__ import annotations

import base64
import os
import socket
import stat
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas.errors import BrokerError, ConfigError
from streams.cli import build_parser, main
from streams.cli.broker import config_from_args
from streams.localbroker.broker import (
    KAFKA_VERSION,
    BrokerConfig,
    LocalBroker,
    ensure_jars,
    free_ports,
    jars_ready,
    new_cluster_id,
    port_in_use,
    render_pom,
    render_server_properties,
)

POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def parse_properties(text: str) -> dict[str, str]:
    """A server.properties text as Java reads it: comments skipped, the last value of a key wins."""
    settings: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings[key] = value
    return settings


@pytest.fixture
def listening() -> Iterator[tuple[str, int]]:
    """A socket listening on a free loopback port, as another program's server would."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield "127.0.0.1", server.getsockname()[1]


def test_server_properties_hold_the_single_node_settings(tmp_path: Path) -> None:
    """The rendered properties make one KRaft broker+controller whose internal topics need one replica."""
    config = BrokerConfig(port=19092, state_dir=tmp_path)
    settings = parse_properties(render_server_properties(config))

    assert settings["process.roles"] == "broker,controller"
    assert settings["node.id"] == "1"
    assert settings["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert settings["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert settings["controller.listener.names"] == "CONTROLLER"
    assert settings["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert settings["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert settings["auto.create.topics.enable"] == "false"
    assert settings["offsets.topic.replication.factor"] == "1"
    assert settings["transaction.state.log.replication.factor"] == "1"
    assert settings["transaction.state.log.min.isr"] == "1"
    assert settings["group.initial.rebalance.delay.ms"] == "0"
    assert int(settings["offsets.topic.num.partitions"]) <= 10
    assert int(settings["transaction.state.log.num.partitions"]) <= 4


def test_data_lives_in_the_state_dir(tmp_path: Path) -> None:
    """log.dirs, the pid file and the logs all sit inside the configured state dir."""
    config = BrokerConfig(state_dir=tmp_path / "state")
    settings = parse_properties(render_server_properties(config))

    assert Path(settings["log.dirs"]).is_relative_to(tmp_path / "state")
    for path in (config.pid_file, config.log_file, config.server_log_file, config.properties_file):
        assert path.parent == tmp_path / "state"


def test_explicit_controller_port_is_used_everywhere() -> None:
    """A chosen controller port replaces port + 1 in the listeners and the voter set."""
    config = BrokerConfig(port=30000, controller_port=31234)
    settings = parse_properties(render_server_properties(config))

    assert config.quorum_port == 31234
    assert "CONTROLLER://127.0.0.1:31234" in settings["listeners"]
    assert settings["controller.quorum.voters"] == "1@127.0.0.1:31234"


def test_extra_properties_override_the_defaults() -> None:
    """Extra settings come last, so they win over the built-in ones."""
    config = BrokerConfig(extra_properties=(("num.partitions", "3"), ("log.retention.ms", "1000")))
    settings = parse_properties(render_server_properties(config))

    assert settings["num.partitions"] == "3"
    assert settings["log.retention.ms"] == "1000"


def test_default_dirs_follow_port_and_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without overrides the state dir is per port and the jar cache per Kafka version, under home."""
    monkeypatch.setenv("HOME", str(tmp_path))
    config = BrokerConfig(port=29092)

    assert config.state_path == tmp_path / ".local/state/txscreen/kafka-29092"
    assert config.cache_path == tmp_path / f".cache/txscreen/kafka-{KAFKA_VERSION}"


def test_pom_names_the_server_and_its_logging_backend() -> None:
    """The rendered pom is XML asking for kafka_2.13 at the version plus log4j-core and its SLF4J binding."""
    root = ET.fromstring(render_pom("4.1.1"))  # noqa: S314 - our own packaged pom, not untrusted input
    version = root.find("m:properties/m:kafka.version", POM_NS)
    artifacts = {node.text for node in root.iterfind("m:dependencies/m:dependency/m:artifactId", POM_NS)}

    assert version is not None
    assert version.text == "4.1.1"
    assert {"kafka_2.13", "log4j-core", "log4j-slf4j2-impl", "slf4j-api"} <= artifacts


def test_pom_refuses_a_version_that_is_not_one() -> None:
    """A version with XML or shell characters is rejected before it reaches the pom."""
    with pytest.raises(BrokerError, match="not a Kafka version"):
        render_pom("4.0</kafka.version>")


def test_cluster_ids_look_like_kafka_uuids() -> None:
    """Cluster ids are 16 random bytes in unpadded URL-safe base64 that never start with a dash."""
    ids = {new_cluster_id() for _ in range(200)}

    assert len(ids) == 200
    for cluster_id in ids:
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_port_in_use_sees_a_listener(listening: tuple[str, int]) -> None:
    """A port someone listens on is reported in use, and a fresh free one is not."""
    host, port = listening
    (free,) = free_ports(1)

    assert port_in_use(host, port)
    assert not port_in_use(host, free)


def test_free_ports_are_distinct() -> None:
    """Ports asked for together are all different."""
    ports = free_ports(3)

    assert len(set(ports)) == 3


def test_start_refuses_a_port_taken_by_another_program(listening: tuple[str, int], tmp_path: Path) -> None:
    """A busy client port fails the start at once, naming the port, before any Java or Maven runs."""
    host, port = listening
    (controller_port,) = free_ports(1)
    config = BrokerConfig(
        host=host, port=port, controller_port=controller_port, state_dir=tmp_path, cache_dir=tmp_path / "none"
    )

    with pytest.raises(BrokerError, match=f"port {port} .* already in use"):
        LocalBroker(config).start(timeout=5)
    assert not (tmp_path / "none").exists()


def test_start_refuses_a_busy_controller_port(listening: tuple[str, int], tmp_path: Path) -> None:
    """A busy controller port is reported as such."""
    host, controller_port = listening
    (port,) = free_ports(1)
    config = BrokerConfig(host=host, port=port, controller_port=controller_port, state_dir=tmp_path)

    with pytest.raises(BrokerError, match="controller port"):
        LocalBroker(config).start(timeout=5)


def complete_cache(cache: Path, names: list[str]) -> None:
    """Lay out a jar cache as a finished ``ensure_jars`` leaves it."""
    (cache / "libs").mkdir(parents=True)
    for name in names:
        (cache / "libs" / name).write_bytes(b"PK")
    (cache / ".complete").write_text("\n".join(names) + "\n")


def test_complete_cache_skips_maven(tmp_path: Path) -> None:
    """A cache with its marker and every listed jar is used as is, without running Maven."""
    complete_cache(tmp_path, [f"kafka_2.13-{KAFKA_VERSION}.jar", "log4j-core-2.25.3.jar"])

    assert jars_ready(tmp_path)
    assert ensure_jars(tmp_path, mvn=str(tmp_path / "no-such-mvn")) == tmp_path / "libs"


def test_cache_missing_a_jar_is_not_ready(tmp_path: Path) -> None:
    """A cache whose listed jar was deleted counts as incomplete, as does one without a marker."""
    complete_cache(tmp_path, ["a.jar", "b.jar"])
    (tmp_path / "libs" / "b.jar").unlink()

    assert not jars_ready(tmp_path)
    assert not jars_ready(tmp_path / "empty")


def test_missing_maven_is_a_clear_error(tmp_path: Path) -> None:
    """Without Maven on PATH the error says Maven is needed to fetch the jars."""
    with pytest.raises(BrokerError, match=r"Maven \(.*\) is not on PATH"):
        ensure_jars(tmp_path / "cache", mvn=str(tmp_path / "no-such-mvn"), progress=lambda _m: None)


def test_failed_fetch_reports_mavens_last_lines(tmp_path: Path) -> None:
    """When Maven fails, the error carries its exit status and last output lines, and no marker is written."""
    fake = tmp_path / "mvn"
    fake.write_text("#!/bin/sh\necho '[ERROR] Could not resolve org.apache.kafka:kafka_2.13:9.9.9'\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    messages: list[str] = []

    with pytest.raises(BrokerError, match="Could not resolve") as caught:
        ensure_jars(tmp_path / "cache", "9.9.9", mvn=str(fake), progress=messages.append)

    assert "exit status 1" in str(caught.value)
    assert messages == ["fetching Kafka jars from Maven Central (once)…"]
    assert not jars_ready(tmp_path / "cache")
    assert "<kafka.version>9.9.9</kafka.version>" in (tmp_path / "cache" / "pom.xml").read_text()


def test_fresh_state_dir_reports_stopped(tmp_path: Path) -> None:
    """A state dir where nothing ran reports a stopped broker, and stopping it is a no-op."""
    broker = LocalBroker(BrokerConfig(state_dir=tmp_path))

    status = broker.status()
    assert not status.running
    assert status.pid is None
    assert status.log_file == tmp_path / "broker.log"
    assert not broker.stop()
    assert not broker.kill()


def test_pid_file_of_another_process_is_ignored(tmp_path: Path) -> None:
    """A pid file naming a live process that is not this state dir's broker does not count as running."""
    broker = LocalBroker(BrokerConfig(state_dir=tmp_path))
    broker.config.pid_file.write_text(f"{os.getpid()}\n")

    assert not broker.is_running()
    assert not broker.stop()
    assert not broker.config.pid_file.exists()


def test_cli_flags_win_over_environment(tmp_path: Path) -> None:
    """Flags override TXSCREEN_KAFKA_* variables, which override the defaults."""
    environ = {
        "TXSCREEN_KAFKA_PORT": "39092",
        "TXSCREEN_KAFKA_STATE": str(tmp_path / "env-state"),
        "TXSCREEN_KAFKA_CACHE": str(tmp_path / "env-cache"),
    }
    from_env = config_from_args(build_parser().parse_args(["kafka", "status"]), environ)
    from_flags = config_from_args(
        build_parser().parse_args(["kafka", "up", "--port", "40000", "--state-dir", str(tmp_path / "flag")]),
        environ,
    )

    assert (from_env.port, from_env.state_path, from_env.cache_path) == (
        39092,
        tmp_path / "env-state",
        tmp_path / "env-cache",
    )
    assert from_flags.port == 40000
    assert from_flags.state_path == tmp_path / "flag"
    assert from_flags.cache_path == tmp_path / "env-cache"


def test_cli_rejects_a_bad_port_variable() -> None:
    """A TXSCREEN_KAFKA_PORT that is not a number is a ConfigError naming the variable."""
    args = build_parser().parse_args(["kafka", "status"])

    with pytest.raises(ConfigError, match="TXSCREEN_KAFKA_PORT"):
        config_from_args(args, {"TXSCREEN_KAFKA_PORT": "ninety"})


def test_cli_status_of_a_stopped_broker_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``txscreen kafka status`` prints ``stopped`` with the state dir and exits 1 when nothing runs."""
    (port,) = free_ports(1)

    code = main(["kafka", "status", "--port", str(port), "--state-dir", str(tmp_path)])

    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith(f"stopped (127.0.0.1:{port})")
    assert str(tmp_path) in out


def test_demo_stop_hint_names_the_port_it_used() -> None:
    """The demo's `make kafka-down` hint carries TXSCREEN_KAFKA_PORT (and the state dir) when set."""
    from streams.demo import stop_hint

    assert stop_hint({}) == "make kafka-down"
    assert stop_hint({"TXSCREEN_KAFKA_PORT": "9192"}) == "TXSCREEN_KAFKA_PORT=9192 make kafka-down"
    both = {"TXSCREEN_KAFKA_PORT": "9192", "TXSCREEN_KAFKA_STATE": "/tmp/k"}
    assert stop_hint(both) == "TXSCREEN_KAFKA_PORT=9192 TXSCREEN_KAFKA_STATE=/tmp/k make kafka-down"
