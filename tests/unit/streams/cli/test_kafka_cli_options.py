"""The Kafka commands at start-up: bad librdkafka options, masked secrets and ``copy``'s destination."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from streams.cli import main
from tests.cli_runner import run_txscreen

#: Nothing listens here: every command must stop on its options before it tries to connect.
CLOSED = ["--bootstrap-servers", "127.0.0.1:9"]
#: The value a user meant to keep out of sight.
LEAKED = "hunter2-Zq9"

#: One invocation of every Kafka command (the Faust engine included), ready for extra flags.
COMMANDS = [
    ["topics", "create"],
    ["topics", "delete", "--yes"],
    ["produce", "-"],
    ["consume", "payments"],
    ["run", "--watchlist", "builtin"],
    ["run", "--engine", "faust", "--watchlist", "builtin"],
    ["copy", "--output-topic", "baseline"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:3]))
@pytest.mark.parametrize(
    "bad",
    [["-X", "bogus.option=1"], ["-X", "session.timeout.ms=soon"], ["-X", "consumer.fetch.max.bytes=lots"]],
    ids=["unknown", "wrong-type", "consumer-only"],
)
def test_a_bad_librdkafka_option_is_one_sentence_and_status_2(
    command: list[str], bad: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Every Kafka command refuses an option librdkafka rejects with one line on stderr and status 2."""
    assert main([*command, *CLOSED, *bad]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("txscreen: error: ")
    assert "Traceback" not in err


def test_a_config_file_value_of_the_wrong_type_is_refused_without_a_traceback(tmp_path: Path) -> None:
    """A --kafka-config value librdkafka cannot take stops consume with one sentence, status 2."""
    config = tmp_path / "client.properties"
    config.write_text("enable.idempotence=maybe\n", encoding="utf-8")
    done = run_txscreen("consume", "payments", *CLOSED, "--kafka-config", str(config), timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "enable.idempotence" in done.stderr


#: Mistyped secret options, each with how it reaches txscreen.
MISTYPED = [
    ("flag", f"sasl.password {LEAKED}"),
    ("flag", f"sasl.password:{LEAKED}"),
    ("flag", f"  sasl.password   {LEAKED}  "),
    ("flag", f"sasl.pasword {LEAKED}"),
    ("flag", f"ssl.key.password {LEAKED}"),
    ("flag", f"sasl.oauthbearer.client.secret {LEAKED}"),
    ("flag", f"sasl.jaas.config org.apache.kafka.common.security.plain.PlainLoginModule password={LEAKED}"),
    ("flag", f"sasl password={LEAKED}"),
    ("env", f"security.protocol=SASL_SSL;sasl.password {LEAKED}"),
    ("file", f"sasl.password {LEAKED}"),
    ("file", f"sasl.token\t{LEAKED}"),
]


@pytest.mark.parametrize(("via", "entry"), MISTYPED)
def test_a_mistyped_secret_option_never_shows_the_secret(
    via: str,
    entry: str,
    *,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """However a secret option is mistyped (flag, env var, file line), the error masks its value."""
    monkeypatch.delenv("TXSCREEN_KAFKA_CONFIG", raising=False)
    extra: list[str] = []
    if via == "flag":
        extra = ["-X", entry]
    elif via == "env":
        monkeypatch.setenv("TXSCREEN_KAFKA_CONFIG", entry)
    else:
        config = tmp_path / "client.properties"
        config.write_text(f"# secured\n{entry}\n", encoding="utf-8")
        extra = ["--kafka-config", str(config)]
    with caplog.at_level(logging.DEBUG):
        assert main(["-v", "consume", "payments", *CLOSED, *extra]) == 2
    err = capsys.readouterr().err
    assert "expects key=value" in err
    assert LEAKED not in err
    assert LEAKED not in caplog.text
    assert "*****" in err


def test_a_secret_value_librdkafka_refuses_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    """A well-formed secret option that the client refuses is reported without its value."""
    assert main(["consume", "payments", *CLOSED, "-X", f"sasl.passwords={LEAKED}"]) == 2
    err = capsys.readouterr().err
    assert "sasl.passwords" in err
    assert LEAKED not in err


def test_copy_requires_an_output_topic(capsys: pytest.CaptureFixture[str]) -> None:
    """`txscreen copy` without --output-topic is a usage error (status 2), never a copy into cleared."""
    with pytest.raises(SystemExit) as exited:
        main(["copy", *CLOSED])
    assert exited.value.code == 2
    assert "--output-topic" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("topic", "kind"),
    [("payments.cleared", "cleared"), ("payments.blocked", "blocked"), ("payments.dlq", "dead-letter")],
)
def test_copy_refuses_the_screener_outputs(topic: str, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    """copy refuses the cleared, blocked and dead-letter topics with one sentence and status 2."""
    assert main(["copy", *CLOSED, "--output-topic", topic]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"refuses the {kind} topic {topic}" in err
    assert "--i-know-this-is-unscreened" in err


def test_copy_refuses_a_configured_cleared_topic(capsys: pytest.CaptureFixture[str]) -> None:
    """The refusal follows the configured topic names, not only the defaults."""
    assert main(["copy", *CLOSED, "--cleared-topic", "acme.ok", "--output-topic", "acme.ok"]) == 2
    assert "cleared topic acme.ok" in capsys.readouterr().err


def test_copy_with_the_flag_starts_and_says_unscreened(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """With --i-know-this-is-unscreened copy goes on, and its start-up line says "unscreened"."""
    from streams.worker import copier

    started: list[tuple[str, str]] = []

    class Loop:
        def __init__(self, _settings: object, transform: copier.CopyTransform, *, name: str) -> None:
            started.append((transform.topic, name))

        def run(self) -> None:
            return None

    monkeypatch.setattr(copier, "require_topics", lambda *_args, **_kwargs: None)
    monkeypatch.setattr(copier, "BatchLoop", Loop)
    with caplog.at_level(logging.INFO):
        argv = ["copy", *CLOSED, "--output-topic", "payments.cleared", "--i-know-this-is-unscreened"]
        assert main(argv) == 0
    assert started == [("payments.cleared", "unscreened copier")]
    assert "UNSCREENED copies of payments go to payments.cleared" in caplog.text
