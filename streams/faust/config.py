"""The Faust engine's options, made from the same :class:`~streams.settings.WorkerSettings` as the worker.

Pure functions, no Faust import: :func:`app_options` turns the settings into the keyword arguments
of ``faust.App``, and :func:`client_security` turns the raw librdkafka options of the settings into
the few that aiokafka (Faust's Kafka client) can apply: security (``security.protocol``, ``sasl.*``,
``ssl.*`` file locations) and a handful of timeouts. Any other librdkafka option stops the engine
with a :class:`~schemas.errors.ConfigError` rather than being silently ignored.

What the settings mean for Faust:

=====================  ===========================================================================
setting                Faust
=====================  ===========================================================================
bootstrap servers      ``broker`` (``kafka://host:port`` each)
group id               the app id, which Faust uses as the consumer group
instance id            ``consumer_group_instance_id`` (static membership)
topics                 the agent's input topic and the three output topics (never created)
max batch / timeout    ``stream.noack_take(max_batch, within=batch_timeout)``
guarantee              always at-least-once (the Faust engine runs no transactions)
web port               ``web_port`` (the status view); ``--web-port`` / ``TXSCREEN_WEB_PORT``
web host               ``web_bind``: the address the status view listens on (default 127.0.0.1: it has no
                       authentication); ``--web-host`` / ``TXSCREEN_WEB_HOST``
=====================  ===========================================================================
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from schemas.errors import ConfigError
from streams.settings import MASK, ClientOptions, Setting, WorkerSettings

DEFAULT_WEB_PORT: Final = 6066
#: The web view has no authentication: it listens on the loopback interface unless told otherwise.
DEFAULT_WEB_HOST: Final = "127.0.0.1"
#: Seconds between Faust's offset commits (its default, 2.8 s): the most a crash can make it repeat.
COMMIT_INTERVAL: Final = 2.8
#: Seconds an output may take to be acknowledged before the worker gives up (librdkafka's default).
PRODUCER_TIMEOUT: Final = 300.0
#: Largest request the producer sends; outputs are kept below it (streams.kafka.clients.MAX_OUTPUT_BYTES).
MAX_REQUEST_BYTES: Final = 1_000_000


def _port(raw: str, where: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 65_535:
        raise ConfigError(f"{where} must be a port number from 1 to 65535, not {raw!r}.")
    return value


WEB_PORT = Setting(
    "web_port",
    "--web-port",
    "TXSCREEN_WEB_PORT",
    DEFAULT_WEB_PORT,
    "port of the Faust engine's web view (JSON counts at /txscreen/status/, a page at /txscreen/)",
    parse=_port,
    metavar="PORT",
)


def _host(raw: str, where: str) -> str:
    value = raw.strip()
    if not value or any(c.isspace() for c in value):
        raise ConfigError(f"{where} must be an address to listen on, e.g. 127.0.0.1 or 0.0.0.0, not {raw!r}.")
    return value


WEB_HOST = Setting(
    "web_host",
    "--web-host",
    "TXSCREEN_WEB_HOST",
    DEFAULT_WEB_HOST,
    "address the Faust engine's web view listens on; it has no authentication, so 0.0.0.0 (every "
    "interface) only behind a firewall or proxy",
    parse=_host,
    metavar="ADDRESS",
)


def _milliseconds(raw: str, key: str) -> float:
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigError(f"librdkafka option {key} must be a whole number of milliseconds, not {raw!r}.")
    return value / 1000.0


def _compression(raw: str, key: str) -> str | None:
    value = raw.strip().lower()
    if value not in {"none", "gzip", "snappy", "lz4", "zstd"}:
        raise ConfigError(f"librdkafka option {key} must be none, gzip, snappy, lz4 or zstd, not {raw!r}.")
    return None if value == "none" else value


def _offset_reset(raw: str, key: str) -> str:
    value = raw.strip().lower()
    if value not in {"earliest", "latest"}:
        raise ConfigError(f"librdkafka option {key} must be earliest or latest for the Faust engine.")
    return value


def _text(raw: str, _key: str) -> str:
    return raw.strip()


#: librdkafka options the Faust engine applies, with the Faust setting each becomes.
TUNING: Final[Mapping[str, tuple[str, Callable[[str, str], Any]]]] = {
    "client.id": ("broker_client_id", _text),
    "session.timeout.ms": ("broker_session_timeout", _milliseconds),
    "heartbeat.interval.ms": ("broker_heartbeat_interval", _milliseconds),
    "max.poll.interval.ms": ("broker_max_poll_interval", _milliseconds),
    "auto.offset.reset": ("consumer_auto_offset_reset", _offset_reset),
    "linger.ms": ("producer_linger", _milliseconds),
    "compression.type": ("producer_compression_type", _compression),
}
#: librdkafka security options the Faust engine applies (see :class:`ClientSecurity`).
SECURITY_KEYS: Final = frozenset(
    {
        "security.protocol",
        "sasl.mechanism",
        "sasl.mechanisms",
        "sasl.username",
        "sasl.password",
        "ssl.ca.location",
        "ssl.certificate.location",
        "ssl.key.location",
        "ssl.key.password",
    }
)
PROTOCOLS: Final = frozenset({"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"})
MECHANISMS: Final = frozenset({"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"})


@dataclass(frozen=True, slots=True)
class ClientSecurity:
    """How the Faust engine reaches a secured cluster; the secrets are masked in ``repr``."""

    protocol: str = "PLAINTEXT"
    mechanism: str = "PLAIN"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    key_password: str | None = field(default=None, repr=False)

    @property
    def uses_sasl(self) -> bool:
        """Whether the protocol authenticates with SASL."""
        return self.protocol.startswith("SASL_")

    @property
    def uses_ssl(self) -> bool:
        """Whether the connection is encrypted with TLS."""
        return self.protocol.endswith("SSL")

    def describe(self) -> str:
        """``SASL_SSL (SCRAM-SHA-512 as alice, password *****)`` for the startup log."""
        if not self.uses_sasl:
            return self.protocol
        secret = f", password {MASK}" if self.password else ""
        return f"{self.protocol} ({self.mechanism} as {self.username}{secret})"


def _bare(key: str) -> str:
    prefix, dot, rest = key.partition(".")
    return rest if dot and prefix in {"consumer", "producer"} else key


def client_security(options: ClientOptions) -> ClientSecurity:
    """The security options among the raw librdkafka ones (ConfigError for a value aiokafka cannot use)."""
    given = {_bare(key): value for key, value in options.pairs if _bare(key) in SECURITY_KEYS}
    protocol = given.get("security.protocol", "PLAINTEXT").strip().upper()
    if protocol not in PROTOCOLS:
        raise ConfigError(
            f"security.protocol must be one of {', '.join(sorted(PROTOCOLS))} for the Faust engine, "
            f"not {protocol!r}."
        )
    mechanism = given.get("sasl.mechanism", given.get("sasl.mechanisms", "PLAIN")).strip().upper()
    if protocol.startswith("SASL_"):
        if mechanism not in MECHANISMS:
            raise ConfigError(
                f"sasl.mechanism must be one of {', '.join(sorted(MECHANISMS))} for the Faust engine, "
                f"not {mechanism!r}."
            )
        if not given.get("sasl.username") or not given.get("sasl.password"):
            raise ConfigError(f"security.protocol {protocol} needs sasl.username and sasl.password.")
    return ClientSecurity(
        protocol=protocol,
        mechanism=mechanism,
        username=given.get("sasl.username"),
        password=given.get("sasl.password"),
        ca_file=given.get("ssl.ca.location"),
        cert_file=given.get("ssl.certificate.location"),
        key_file=given.get("ssl.key.location"),
        key_password=given.get("ssl.key.password"),
    )


def tuning_options(options: ClientOptions) -> dict[str, Any]:
    """The Faust settings made from the raw librdkafka options; ConfigError for one it cannot apply."""
    tuned: dict[str, Any] = {}
    for key, value in options.pairs:
        bare = _bare(key)
        if bare in SECURITY_KEYS:
            continue
        if bare not in TUNING:
            known = ", ".join(sorted({*TUNING, *SECURITY_KEYS}))
            raise ConfigError(
                f"the Faust engine cannot apply the librdkafka option {key} (it understands {known}); "
                "use the confluent-kafka engine for it."
            )
        name, parse = TUNING[bare]
        tuned[name] = parse(value, key)
    return tuned


def broker_urls(bootstrap_servers: str) -> list[str]:
    """``kafka://host:port`` for each bootstrap server."""
    return [f"kafka://{server.strip()}" for server in bootstrap_servers.split(",") if server.strip()]


def default_datadir(group_id: str) -> Path:
    """Where Faust keeps its (empty: memory store, no tables) data directory: under the temp dir, not cwd."""
    return Path(tempfile.gettempdir()) / "txscreen-faust" / group_id


def app_options(
    settings: WorkerSettings,
    *,
    input_partitions: int,
    web_port: int = DEFAULT_WEB_PORT,
    web_host: str = "localhost",
    web_bind: str = DEFAULT_WEB_HOST,
    datadir: Path | None = None,
) -> dict[str, Any]:
    """The keyword arguments of ``faust.App`` for the screening app (id = the group id).

    ``env={}`` keeps Faust from filling in its own settings from ``FAUST_…``/``F_…`` variables: every
    value comes from the settings object.
    """
    return {
        "broker": broker_urls(settings.kafka.bootstrap_servers),
        "env": {},
        "store": "memory://",
        "datadir": str(datadir or default_datadir(settings.group_id)),
        "processing_guarantee": "at_least_once",
        # Raw bytes in and out: nothing is deserialized or re-encoded.
        "key_serializer": "raw",
        "value_serializer": "raw",
        # Faust would create its leader topic (<id>-__assignor-__leader) and table changelogs through
        # the admin API; the screener needs neither, so it creates no topic at all.
        "topic_disable_leader": True,
        "topic_replication_factor": 1,
        "topic_partitions": input_partitions,
        "topic_allow_declare": False,
        "consumer_auto_offset_reset": "earliest",
        "consumer_group_instance_id": settings.instance_id,
        "broker_session_timeout": 10.0,
        "broker_commit_interval": COMMIT_INTERVAL,
        # The stream must hold a whole batch, or take() never sees max_batch events at once.
        "stream_buffer_maxsize": max(4096, 2 * settings.max_batch),
        "stream_wait_empty": True,
        "producer_acks": -1,
        "producer_max_batch_size": 1024 * 1024,
        "producer_max_request_size": MAX_REQUEST_BYTES,
        "producer_linger": 0.005,
        # A batch not delivered within this time fails the worker (exit 2), as librdkafka's
        # message.timeout.ms does for the confluent-kafka engine; Faust's default is 20 minutes.
        "producer_request_timeout": PRODUCER_TIMEOUT,
        "consumer_max_fetch_size": 4 * 1024 * 1024,
        "web_enabled": True,
        "web_port": web_port,
        "web_host": web_host,
        "web_bind": web_bind,
        **tuning_options(settings.kafka.client_options),
    }
