"""The Faust engine's options, made from the worker's settings (no Faust import needed)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from schemas.errors import ConfigError
from streams.faust import main as faust_main
from streams.faust.config import (
    DEFAULT_WEB_HOST,
    DEFAULT_WEB_PORT,
    WEB_HOST,
    WEB_PORT,
    app_options,
    broker_urls,
    client_security,
    tuning_options,
)
from streams.settings import ClientOptions, KafkaSettings, Topics, WorkerSettings

EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - what a user may ask for; never the default


def settings(*pairs: tuple[str, str], max_batch: int = 5000) -> WorkerSettings:
    kafka = KafkaSettings("k1:9092, k2:9093", Topics("in"), ClientOptions(pairs))
    return WorkerSettings(kafka=kafka, group_id="screeners", instance_id="pod-0", max_batch=max_batch)


def test_app_options_are_raw_at_least_once_and_create_no_topic(tmp_path: Path) -> None:
    """Group id, brokers, raw bytes, memory store, no leader topic nor declarations, the web port."""
    options = app_options(settings(), input_partitions=6, web_port=7001, datadir=tmp_path)
    assert options["broker"] == ["kafka://k1:9092", "kafka://k2:9093"]
    assert options["env"] == {}
    assert options["store"] == "memory://"
    assert options["processing_guarantee"] == "at_least_once"
    assert (options["key_serializer"], options["value_serializer"]) == ("raw", "raw")
    assert options["topic_disable_leader"] is True
    assert options["topic_allow_declare"] is False
    assert (options["topic_partitions"], options["topic_replication_factor"]) == (6, 1)
    assert options["consumer_group_instance_id"] == "pod-0"
    assert options["web_port"] == 7001
    assert options["datadir"] == str(tmp_path)
    assert options["stream_buffer_maxsize"] >= 5000


def test_stream_buffer_holds_two_batches() -> None:
    """A big --max-batch grows the stream buffer so that take() can fill a whole batch."""
    assert app_options(settings(max_batch=20_000), input_partitions=1)["stream_buffer_maxsize"] == 40_000


def test_supported_librdkafka_options_become_faust_settings() -> None:
    """Timeouts, linger, compression and client id are translated, with or without a client prefix."""
    tuned = tuning_options(
        ClientOptions(
            (
                ("consumer.session.timeout.ms", "6000"),
                ("producer.linger.ms", "20"),
                ("compression.type", "none"),
                ("client.id", "screener-7"),
                ("security.protocol", "SSL"),
            )
        )
    )
    assert tuned == {
        "broker_session_timeout": 6.0,
        "producer_linger": 0.02,
        "producer_compression_type": None,
        "broker_client_id": "screener-7",
    }


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("queued.min.messages", "1000", "cannot apply the librdkafka option queued.min.messages"),
        ("linger.ms", "soon", "whole number of milliseconds"),
        ("compression.type", "brotli", "none, gzip, snappy, lz4 or zstd"),
    ],
)
def test_options_aiokafka_cannot_apply_are_refused_with_one_sentence(
    key: str, value: str, message: str
) -> None:
    """An option the Faust engine cannot honour stops it (ConfigError) rather than being ignored."""
    with pytest.raises(ConfigError, match=message):
        app_options(settings((key, value)), input_partitions=1)


def test_sasl_ssl_security_is_read_and_its_secrets_masked() -> None:
    """SASL_SSL with SCRAM: protocol, mechanism, user and files kept; password never shown."""
    security = client_security(
        ClientOptions(
            (
                ("security.protocol", "sasl_ssl"),
                ("sasl.mechanisms", "SCRAM-SHA-512"),
                ("sasl.username", "alice"),
                ("sasl.password", "s3cret"),
                ("ssl.ca.location", "/etc/ca.pem"),
            )
        )
    )
    assert (security.protocol, security.mechanism, security.username) == (
        "SASL_SSL",
        "SCRAM-SHA-512",
        "alice",
    )
    assert security.uses_sasl
    assert security.uses_ssl
    assert security.ca_file == "/etc/ca.pem"
    assert "s3cret" not in repr(security)
    assert "s3cret" not in security.describe()
    assert client_security(ClientOptions()).describe() == "PLAINTEXT"


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ((("security.protocol", "KERBEROS"),), "security.protocol must be one of"),
        ((("security.protocol", "SASL_SSL"), ("sasl.mechanism", "GSSAPI")), "sasl.mechanism must be one of"),
        ((("security.protocol", "SASL_PLAINTEXT"), ("sasl.username", "bob")), "needs sasl.username and"),
    ],
)
def test_security_aiokafka_cannot_use_is_refused(pairs: tuple[tuple[str, str], ...], message: str) -> None:
    """Unknown protocols, unsupported mechanisms and missing credentials are ConfigErrors."""
    with pytest.raises(ConfigError, match=message):
        client_security(ClientOptions(pairs))


def test_web_port_comes_from_the_flag_else_the_environment_else_6066() -> None:
    """--web-port wins over TXSCREEN_WEB_PORT, which wins over the default; bad ports are refused."""
    parser = argparse.ArgumentParser()
    WEB_PORT.add_to(parser)
    assert WEB_PORT.value(parser.parse_args(["--web-port", "7000"]), {"TXSCREEN_WEB_PORT": "7100"}) == 7000
    assert WEB_PORT.value(parser.parse_args([]), {"TXSCREEN_WEB_PORT": "7100"}) == 7100
    assert WEB_PORT.value(parser.parse_args([]), {}) == DEFAULT_WEB_PORT == 6066
    with pytest.raises(ConfigError, match="port number"):
        WEB_PORT.value(argparse.Namespace(web_port="70000"), {})


def test_importing_the_faust_entry_point_builds_no_app() -> None:
    """The Faust CLI module reads nothing at import: the app is made on first access of ``app`` only."""
    assert faust_main._app_from_environment.cache_info().currsize == 0
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = faust_main.nope
    assert broker_urls(" a:1 ,b:2,") == ["kafka://a:1", "kafka://b:2"]


def test_web_view_listens_on_loopback_unless_told_otherwise() -> None:
    """--web-host wins over TXSCREEN_WEB_HOST, which wins over the default 127.0.0.1; blanks are refused."""
    parser = argparse.ArgumentParser()
    WEB_HOST.add_to(parser)
    assert WEB_HOST.value(parser.parse_args([]), {}) == DEFAULT_WEB_HOST == "127.0.0.1"
    assert WEB_HOST.value(parser.parse_args([]), {"TXSCREEN_WEB_HOST": EVERY_INTERFACE}) == EVERY_INTERFACE
    assert (
        WEB_HOST.value(parser.parse_args(["--web-host", "10.0.0.5"]), {"TXSCREEN_WEB_HOST": "::"})
        == "10.0.0.5"
    )
    with pytest.raises(ConfigError, match="address to listen on"):
        WEB_HOST.value(argparse.Namespace(web_host="a b"), {})


def test_configured_faust_app_binds_its_web_view_to_loopback_by_default(tmp_path: Path) -> None:
    """A faust.App made from the default options binds its web server to 127.0.0.1, not 0.0.0.0."""
    faust = pytest.importorskip("faust")
    options = app_options(settings(), input_partitions=1, datadir=tmp_path)
    app = faust.App("bind-test", **options)
    assert app.conf.web_bind == "127.0.0.1"
    other = faust.App("bind-test-2", **app_options(settings(), input_partitions=1, web_bind=EVERY_INTERFACE))
    assert other.conf.web_bind == EVERY_INTERFACE
