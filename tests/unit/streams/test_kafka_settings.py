"""Settings of the Kafka commands: flags over environment over defaults, raw options, secret masking."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from schemas.errors import ConfigError
from streams.settings import (
    KAFKA_SETTINGS,
    MASK,
    WORKER_SETTINGS,
    ClientOptions,
    Guarantee,
    KafkaSettings,
    Latency,
    Topics,
    WorkerSettings,
    add_kafka_arguments,
    add_watchlist_arguments,
    add_worker_arguments,
    is_secret,
    kafka_settings,
    masked,
    parse_option,
    read_properties,
    settings_table,
    worker_settings,
)


def parser() -> argparse.ArgumentParser:
    made = argparse.ArgumentParser()
    add_kafka_arguments(made)
    add_worker_arguments(made)
    add_watchlist_arguments(made)
    return made


def settings(*argv: str, env: dict[str, str] | None = None) -> WorkerSettings:
    return worker_settings(parser().parse_args(list(argv)), env or {})


def test_defaults_match_the_contract() -> None:
    """Without flags or environment: local broker, the four payments topics, exactly-once, 5,000 a batch."""
    made = settings()
    assert made == WorkerSettings()
    assert made.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert made.kafka.topics == Topics("payments", "payments.cleared", "payments.blocked", "payments.dlq")
    assert made.guarantee is Guarantee.EXACTLY_ONCE
    assert made.transactional
    assert made.max_batch == 5000
    assert made.watchlists == ()


def test_environment_fills_in_and_flags_win() -> None:
    """Each setting comes from its TXSCREEN_ variable unless its flag is given."""
    env = {
        "TXSCREEN_BOOTSTRAP_SERVERS": "kafka-1:9092,kafka-2:9092",
        "TXSCREEN_INPUT_TOPIC": "in",
        "TXSCREEN_CLEARED_TOPIC": "ok",
        "TXSCREEN_BLOCKED_TOPIC": "stop",
        "TXSCREEN_DLQ_TOPIC": "bad",
        "TXSCREEN_GROUP_ID": "screeners",
        "TXSCREEN_INSTANCE_ID": "pod-0",
        "TXSCREEN_GUARANTEE": "at-least-once",
        "TXSCREEN_MAX_BATCH": "100",
        "TXSCREEN_BATCH_TIMEOUT": "0.5",
        "TXSCREEN_STATUS_INTERVAL": "0",
        "TXSCREEN_UNTIL_IDLE": "3",
        "TXSCREEN_MAX_EVENTS": "7",
        "TXSCREEN_WATCHLIST": "builtin; /lists/sdn",
    }
    from_env = settings(env=env)
    assert from_env.kafka.bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert from_env.kafka.topics == Topics("in", "ok", "stop", "bad")
    assert from_env.group_id == "screeners"
    assert from_env.instance_id == "pod-0"
    assert from_env.guarantee is Guarantee.AT_LEAST_ONCE
    assert (from_env.max_batch, from_env.batch_timeout, from_env.status_interval) == (100, 0.5, 0.0)
    assert (from_env.until_idle, from_env.max_events) == (3.0, 7)
    assert from_env.watchlists == ("builtin", "/lists/sdn")

    flagged = settings("--input-topic", "flag-in", "--max-batch", "9", "--watchlist", "builtin", env=env)
    assert flagged.kafka.topics.input == "flag-in"
    assert flagged.max_batch == 9
    assert flagged.watchlists == ("builtin",)
    assert flagged.group_id == "screeners"


def test_latency_profile_from_flag_or_environment() -> None:
    """--latency / TXSCREEN_LATENCY pick the low-latency profile; the default is the throughput one."""
    assert settings().latency is Latency.THROUGHPUT
    assert settings("--latency", "low").latency is Latency.LOW
    assert settings(env={"TXSCREEN_LATENCY": "LOW"}).latency is Latency.LOW
    assert settings("--latency", "throughput", env={"TXSCREEN_LATENCY": "low"}).latency is Latency.THROUGHPUT


def test_max_events_is_any_positive_count() -> None:
    """--max-events is a count of events, not a batch: a billion is fine (a long load test)."""
    assert settings("--max-events", "1113861").max_events == 1_113_861
    assert settings(env={"TXSCREEN_MAX_EVENTS": "1000000000"}).max_events == 1_000_000_000


@pytest.mark.parametrize(
    ("argv", "env", "names"),
    [
        (["--max-batch", "0"], {}, "--max-batch"),
        (["--max-batch", "many"], {}, "--max-batch"),
        ([], {"TXSCREEN_MAX_BATCH": "-3"}, "TXSCREEN_MAX_BATCH"),
        (["--batch-timeout", "0"], {}, "--batch-timeout"),
        (["--max-events", "0"], {}, "--max-events"),
        (["--guarantee", "maybe-once"], {}, "--guarantee"),
        (["--latency", "fast"], {}, "--latency"),
        ([], {"TXSCREEN_LATENCY": "lowest"}, "TXSCREEN_LATENCY"),
        (["--instance-id", "pod 0"], {}, "--instance-id"),
        (["--input-topic", "  "], {}, "--input-topic"),
        (["--cleared-topic", "payments"], {}, "four different topics"),
        (["-X", "linger.ms"], {}, "-X"),
        (["-X", "enable.auto.commit=true"], {}, "enable.auto.commit"),
        (["-X", "consumer.isolation.level=read_uncommitted"], {}, "isolation.level"),
        ([], {"TXSCREEN_KAFKA_CONFIG": "transactional.id=mine"}, "transactional.id"),
        (["-X", "group.id=other"], {}, "--group-id"),
    ],
)
def test_bad_values_are_one_clear_config_error(argv: list[str], env: dict[str, str], names: str) -> None:
    """A value txscreen cannot use stops with a ConfigError that names the flag or variable."""
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        settings(*argv, env=env)


def test_raw_options_layer_file_then_env_then_flags(tmp_path: Path) -> None:
    """Properties file, then TXSCREEN_KAFKA_CONFIG (';' or newlines), then -X: the later value wins."""
    properties = tmp_path / "client.properties"
    properties.write_text(
        "# a comment\n! another\n\nsecurity.protocol=SASL_SSL\nsasl.mechanism: PLAIN\nlinger.ms=1\n",
        encoding="utf-8",
    )
    env = {
        "TXSCREEN_KAFKA_CONFIG_FILE": str(properties),
        "TXSCREEN_KAFKA_CONFIG": "linger.ms=2;sasl.username=alice\nsasl.password=s3cret",
    }
    made = settings("-X", "linger.ms=3", "-X", "consumer.fetch.wait.max.ms=50", env=env)
    options = made.kafka.client_options
    assert options.for_client("producer") == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "linger.ms": "3",
        "sasl.username": "alice",
        "sasl.password": "s3cret",
    }
    assert options.for_client("consumer")["fetch.wait.max.ms"] == "50"
    assert "fetch.wait.max.ms" not in options.for_client("admin")


def test_a_missing_properties_file_is_a_config_error(tmp_path: Path) -> None:
    """--kafka-config naming a file that is not there stops with the path in the message."""
    missing = tmp_path / "nope.properties"
    with pytest.raises(ConfigError, match=r"nope\.properties"):
        settings("--kafka-config", str(missing))
    (tmp_path / "bad.properties").write_text("just-a-word\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expects key=value"):
        read_properties(tmp_path / "bad.properties")


@pytest.mark.parametrize(
    "key",
    [
        "sasl.password",
        "ssl.key.password",
        "ssl.keystore.password",
        "sasl.oauthbearer.client.secret",
        "producer.sasl.password",
        "sasl.jaas.config",
        "ssl.key.pem",
        "my.Secret.thing",
    ],
)
def test_secret_keys_are_recognised(key: str) -> None:
    """Passwords, secrets, private keys and JAAS/OAUTHBEARER configs count as secret, prefixed or not."""
    assert is_secret(key)


def test_secrets_are_masked_in_repr_and_log_dicts() -> None:
    """repr of the settings and masked() never show a secret value; other values stay readable."""
    options = ClientOptions(
        (("sasl.username", "alice"), ("sasl.password", "hunter2"), ("ssl.key.password", "pw"))
    )
    made = WorkerSettings(kafka=KafkaSettings(client_options=options))
    text = repr(made)
    assert "hunter2" not in text
    assert "'pw'" not in text
    assert "alice" in text
    assert MASK in text
    assert masked({"sasl.password": "x", "linger.ms": 5}) == {"sasl.password": MASK, "linger.ms": 5}


def test_parse_option_keeps_everything_after_the_first_equals_sign() -> None:
    """Values may hold '=' (JAAS configs, URLs): only the first one splits key from value."""
    assert parse_option("sasl.oauthbearer.config=scope=read principal=x", "-X") == (
        "sasl.oauthbearer.config",
        "scope=read principal=x",
    )


def test_kafka_settings_for_commands_without_a_worker() -> None:
    """produce/consume/topics build only the Kafka part, from the same flags."""
    made = argparse.ArgumentParser()
    add_kafka_arguments(made)
    built = kafka_settings(made.parse_args(["--bootstrap-servers", "b:1"]), {})
    assert built == KafkaSettings(bootstrap_servers="b:1")


def test_settings_table_lists_every_flag_and_variable() -> None:
    """The README table has a row per setting with its flag, its TXSCREEN_ variable and its default."""
    table = settings_table()
    for needle in (
        "`--bootstrap-servers HOST:PORT`",
        "`TXSCREEN_BOOTSTRAP_SERVERS`",
        "`--dlq-topic TOPIC`",
        "`payments.dlq`",
        "`TXSCREEN_KAFKA_CONFIG`",
        "`--guarantee MODE`",
        "`exactly-once`",
        "`TXSCREEN_WATCHLIST`",
        "`--until-idle SECONDS`",
    ):
        assert needle in table
    # a header, a rule, and one row per Kafka setting, the watchlists and each worker setting
    assert table.count("\n") + 1 == 2 + len(KAFKA_SETTINGS) + 1 + len(WORKER_SETTINGS)
