"""Settings of the Kafka commands: one frozen object, built once at the edge and passed down.

Every setting is declared once below, as a :class:`Setting` holding its flag, its environment
variable, its default and what it means; the argument parser, the environment fallback and the
README table (:func:`settings_table`) are all made from these declarations. A value is taken from
the flag when given, else from the environment variable, else the default. Nothing here reads
``os.environ`` by itself: the CLI passes the environment in.

Raw librdkafka options pass through unchanged so that secured clusters can be reached
(``security.protocol``, ``sasl.*``, ``ssl.*``): a properties file, then ``TXSCREEN_KAFKA_CONFIG``,
then ``-X key=value`` flags, later ones winning. A key prefixed ``consumer.`` or ``producer.`` goes
to that client only. Values of secret keys (passwords, secrets, private keys, JAAS and OAUTHBEARER
configs) are masked in ``repr``, in logs and in the errors about mistyped options.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Literal

from schemas.errors import ConfigError
from schemas.records import Verdict

ClientKind = Literal["consumer", "producer", "admin"]

MASK: Final = "*****"
#: Keys whose values are never shown: any key holding one of the words below (so also a misspelt or
#: unknown one, ``sasl.pasword``, ``ssl.keystore.password``, ``oauth.token``), and these.
_SECRET_KEYS: Final = frozenset({"sasl.jaas.config", "sasl.oauthbearer.config", "ssl.key.pem", "ssl_key"})
_SECRET_WORDS: Final = (
    "pass",  # password, passwd, passphrase, and the misspelt pasword below
    "pasw",
    "pwd",
    "secret",
    "key",
    "token",
    "credential",
    "cred",
    "jaas",
    "oauth",
    "private",
    "auth",
)
#: Where the key of a malformed entry ends: the first space, '=', ':' or tab.
_KEY_END: Final = re.compile(r"[\s=:]")
#: Prefixes that send an option to one client only (stripped before it reaches librdkafka).
CLIENT_PREFIXES: Final[tuple[ClientKind, ...]] = ("consumer", "producer")
#: Options txscreen sets itself: giving them would break a guarantee or hide a flag.
_RESERVED: Final = {
    "bootstrap.servers": "use --bootstrap-servers",
    "group.id": "use --group-id",
    "group.instance.id": "use --instance-id",
    "transactional.id": "it is derived from --group-id and --instance-id",
    "enable.auto.commit": "offsets are committed with the output (exactly-once) or after it (at-least-once)",
    "enable.auto.offset.store": "offsets are committed with the output, never stored automatically",
    "isolation.level": "the input is always read read_committed",
}
_ENV_LIST_SEPARATOR: Final = re.compile(r"[;\n]")


def is_secret(key: str) -> bool:
    """Whether the value of librdkafka option ``key`` must not be shown."""
    key = key.lower()
    for prefix in CLIENT_PREFIXES:
        key = key.removeprefix(f"{prefix}.")
    return key in _SECRET_KEYS or any(word in key for word in _SECRET_WORDS)


def shown_entry(entry: str) -> str:
    """A ``key=value`` entry as an error may quote it: the value masked whenever the entry looks secret.

    The entry may be malformed (``sasl.password hunter2``, ``sasl.password: hunter2``), so the key
    is taken up to the first space, '=' or ':', and the whole entry is searched for the secret words.
    """
    text = entry.strip()
    key = _KEY_END.split(text, maxsplit=1)[0]
    lowered = text.lower()
    if is_secret(key) or any(word in lowered for word in _SECRET_WORDS):
        return f"{key} {MASK}" if key and key != text else MASK
    return text


def mask_secrets(text: str, options: Iterable[tuple[str, Any]]) -> str:
    """``text`` (an error message) with the value of every secret option in ``options`` masked."""
    for key, value in options:
        if is_secret(key) and isinstance(value, str) and value.strip():
            text = text.replace(value, MASK)
    return text


def masked(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with the values of secret keys replaced by a mask, for logs and ``repr``."""
    return {key: (MASK if is_secret(key) else value) for key, value in options.items()}


class Guarantee(StrEnum):
    """What a reader of the output topics may rely on after a crash."""

    EXACTLY_ONCE = "exactly-once"
    """Transactions: each input appears once across cleared ∪ blocked ∪ dlq for read_committed readers."""
    AT_LEAST_ONCE = "at-least-once"
    """No transactions: produce, flush, then commit offsets; a crash may repeat a batch."""


@dataclass(frozen=True, slots=True)
class Topics:
    """The input topic and the three output topics."""

    input: str = "payments"
    cleared: str = "payments.cleared"
    blocked: str = "payments.blocked"
    dlq: str = "payments.dlq"
    replayed: str = ""
    """The audit topic of ``txscreen dlq replay`` (one record per replayed dead letter; no worker uses it):
    ``<dlq>.replayed`` unless given."""
    decisions: str = "payments.decisions"
    """The review service's audit log: every proposal, approval, refusal, release and allowlist change."""
    confirmed: str = "payments.confirmed"
    """True matches confirmed by review: the blocked record with the deciding decisions."""
    allowlist: str = "txscreen.allowlist"
    """Approved allowlist entries (compacted, key = entry id, a revoke is a tombstone); ``run`` follows it."""

    def __post_init__(self) -> None:
        if not self.replayed:
            object.__setattr__(self, "replayed", f"{self.dlq}.replayed")

    @property
    def managed(self) -> tuple[str, ...]:
        """The topics ``txscreen topics create`` makes: input, outputs, replay audit, review topics."""
        return (*self.all, self.replayed, *self.review)

    @property
    def review(self) -> tuple[str, str, str]:
        """The review service's topics: decisions, confirmed and allowlist."""
        return (self.decisions, self.confirmed, self.allowlist)

    def configs(self) -> dict[str, dict[str, str]]:
        """Topic configs ``topics create`` sets: the audit log kept forever, the allowlist compacted."""
        forever = {"retention.ms": "-1", "retention.bytes": "-1"}
        return {
            self.decisions: forever,
            self.confirmed: forever,
            self.allowlist: {"cleanup.policy": "compact"},
        }

    @property
    def outputs(self) -> tuple[str, str, str]:
        """Cleared, blocked and dead-letter topics."""
        return (self.cleared, self.blocked, self.dlq)

    @property
    def all(self) -> tuple[str, str, str, str]:
        """Input then outputs."""
        return (self.input, *self.outputs)

    def by_verdict(self) -> dict[Verdict, str]:
        """Each verdict's output topic."""
        return {Verdict.CLEARED: self.cleared, Verdict.BLOCKED: self.blocked, Verdict.DEAD_LETTER: self.dlq}


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """Raw librdkafka options, in the order given (later wins); secrets are masked in ``repr``."""

    pairs: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        return f"ClientOptions({masked(dict(self.pairs))!r})"

    def for_client(self, kind: ClientKind) -> dict[str, str]:
        """The options for one client: unprefixed ones, plus those prefixed with its kind (prefix removed)."""
        chosen: dict[str, str] = {}
        for key, value in self.pairs:
            prefix, dot, rest = key.partition(".")
            if dot and prefix in CLIENT_PREFIXES:
                if prefix == kind:
                    chosen[rest] = value
            else:
                chosen[key] = value
        return chosen


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    """What every Kafka command needs: where the cluster is, the topic names and raw client options."""

    bootstrap_servers: str = "127.0.0.1:9092"
    """``--bootstrap-servers`` / ``TXSCREEN_BOOTSTRAP_SERVERS``: see :data:`BOOTSTRAP_SERVERS`."""
    topics: Topics = field(default_factory=Topics)
    """``--input-topic`` … ``--dlq-topic`` / ``TXSCREEN_INPUT_TOPIC`` … ``TXSCREEN_DLQ_TOPIC``."""
    client_options: ClientOptions = field(default_factory=ClientOptions)
    """``--kafka-config FILE``, ``TXSCREEN_KAFKA_CONFIG``, ``-X key=value``: see :data:`KAFKA_OPTIONS`."""


class Latency(StrEnum):
    """How a worker forms its batches: for throughput, or for latency."""

    THROUGHPUT = "throughput"
    """A batch fills until ``--batch-timeout`` after the previous batch was consumed (or to ``--max-batch``):
    at most one transaction per batch timeout, few and large; after a quiet spell, what has arrived."""
    LOW = "low"
    """A batch is what has arrived: the worker waits (up to ``--batch-timeout``) only for the first event,
    then takes every event already fetched. Under load, batches grow with the arrival rate times the
    time a commit takes, so the transactions stay few; at low rates they are small and many."""


@dataclass(frozen=True, slots=True)
class FuzzyChoice:
    """The automaton's build options: whether the fuzzy tier runs, for which lists (``None``: every
    list), and the build cache's folder (``None``: no cache; :mod:`streams.build_cache`)."""

    on: bool = True
    lists: tuple[str, ...] | None = None
    cache: Path | None = None


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """A worker (``txscreen run`` and ``txscreen copy``): the Kafka settings plus the loop's own."""

    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    """Cluster, topics and raw client options."""
    group_id: str = "txscreen"
    """``--group-id`` / ``TXSCREEN_GROUP_ID``: see :data:`GROUP_ID`."""
    instance_id: str | None = None
    """``--instance-id`` / ``TXSCREEN_INSTANCE_ID``: see :data:`INSTANCE_ID`."""
    guarantee: Guarantee = Guarantee.EXACTLY_ONCE
    """``--guarantee`` / ``TXSCREEN_GUARANTEE``: see :data:`GUARANTEE`."""
    watchlists: tuple[str, ...] = ()
    """``--watchlist`` / ``TXSCREEN_WATCHLIST``: see :data:`WATCHLISTS` (``run`` only)."""
    watchlist_topic: str | None = None
    """``--watchlist-topic`` / ``TXSCREEN_WATCHLIST_TOPIC``: see :data:`WATCHLIST_TOPIC` (``run`` only)."""
    fuzzy: FuzzyChoice = field(default_factory=FuzzyChoice)
    """``--fuzzy`` / ``TXSCREEN_FUZZY`` and ``--fuzzy-lists``: see :data:`FUZZY` (``run`` only)."""
    max_batch: int = 5000
    """``--max-batch`` / ``TXSCREEN_MAX_BATCH``: see :data:`MAX_BATCH`."""
    batch_timeout: float = 0.1
    """``--batch-timeout`` / ``TXSCREEN_BATCH_TIMEOUT``: see :data:`BATCH_TIMEOUT`."""
    latency: Latency = Latency.THROUGHPUT
    """``--latency`` / ``TXSCREEN_LATENCY``: see :data:`LATENCY`."""
    status_interval: float = 10.0
    """``--status-interval`` / ``TXSCREEN_STATUS_INTERVAL``: see :data:`STATUS_INTERVAL`."""
    until_idle: float | None = None
    """``--until-idle`` / ``TXSCREEN_UNTIL_IDLE``: see :data:`UNTIL_IDLE`."""
    max_events: int | None = None
    """``--max-events`` / ``TXSCREEN_MAX_EVENTS``: see :data:`MAX_EVENTS`."""

    @property
    def transactional(self) -> bool:
        """Whether the worker runs transactions (exactly-once)."""
        return self.guarantee is Guarantee.EXACTLY_ONCE


DEFAULT_TOPICS: Final = Topics()
DEFAULT_KAFKA: Final = KafkaSettings()
DEFAULT_WORKER: Final = WorkerSettings()


# --- value parsers: each gets the text and where it came from, and raises ConfigError -------------------


def _text(raw: str, where: str) -> str:
    value = raw.strip()
    if not value:
        raise ConfigError(f"{where} must not be empty.")
    return value


def _optional_text(raw: str, where: str) -> str | None:
    return raw.strip() or None


def _instance_id(raw: str, where: str) -> str | None:
    value = raw.strip()
    if value and not re.fullmatch(r"[A-Za-z0-9._-]{1,200}", value):
        raise ConfigError(f"{where} may only hold letters, digits, '.', '_' and '-', not {raw!r}.")
    return value or None


def _batch_size(raw: str, where: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 1_000_000:
        raise ConfigError(f"{where} must be a whole number from 1 to 1000000, not {raw!r}.")
    return value


def _optional_count(raw: str, where: str) -> int | None:
    """A positive whole number of any size (a count of events, not a batch), or none when empty."""
    if not raw.strip():
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{where} must be a whole number of at least 1, not {raw!r}.")
    return value


def _seconds(raw: str, where: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < 86_400:
        raise ConfigError(f"{where} must be a number of seconds from 0 to 86400, not {raw!r}.")
    return value


def _on_off(raw: str, where: str) -> bool:
    value = raw.strip().lower()
    if value not in ("on", "off"):
        raise ConfigError(f"{where} must be 'on' or 'off', not {raw!r}.")
    return value == "on"


def _cache_folder(raw: str, where: str) -> str:
    value = raw.strip()
    if not value:
        raise ConfigError(f"{where} must be 'off' or a folder.")
    return "off" if value.lower() == "off" else value


def _list_ids(raw: str, _where: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _positive_seconds(raw: str, where: str) -> float:
    value = _seconds(raw, where)
    if value <= 0:
        raise ConfigError(f"{where} must be more than 0 seconds, not {raw!r}.")
    return value


def _optional_seconds(raw: str, where: str) -> float | None:
    return _positive_seconds(raw, where) if raw.strip() else None


def _guarantee(raw: str, where: str) -> Guarantee:
    try:
        return Guarantee(raw.strip().lower())
    except ValueError:
        choices = " or ".join(repr(g.value) for g in Guarantee)
        raise ConfigError(f"{where} must be {choices}, not {raw!r}.") from None


def _latency(raw: str, where: str) -> Latency:
    try:
        return Latency(raw.strip().lower())
    except ValueError:
        choices = " or ".join(repr(profile.value) for profile in Latency)
        raise ConfigError(f"{where} must be {choices}, not {raw!r}.") from None


Parse = Callable[[str, str], Any]


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: its name in the settings object, its flag, its environment variable and meaning."""

    name: str
    flag: str
    env: str | None
    default: Any
    meaning: str
    parse: Parse = _text
    metavar: str | None = None

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        """Add the flag; it defaults to None so that the environment can fill in."""
        env = f"; env {self.env}" if self.env else ""
        shown = "none" if self.default in (None, ()) else self.default
        parser.add_argument(
            self.flag,
            dest=self.name,
            metavar=self.metavar or self.name.upper(),
            default=None,
            help=f"{self.meaning} (default: {shown}{env})",
        )

    def value(self, args: argparse.Namespace, environ: Mapping[str, str]) -> Any:
        """The flag's value if given, else the environment variable's, else the default."""
        given = getattr(args, self.name, None)
        if given is not None:
            return self.parse(str(given), self.flag)
        if self.env and environ.get(self.env, "").strip():
            return self.parse(environ[self.env], self.env)
        return self.default


# --- the declarations ---------------------------------------------------------------------------------

BOOTSTRAP_SERVERS = Setting(
    "bootstrap_servers",
    "--bootstrap-servers",
    "TXSCREEN_BOOTSTRAP_SERVERS",
    DEFAULT_KAFKA.bootstrap_servers,
    "Kafka brokers to bootstrap from, host:port[,host:port…]",
    metavar="HOST:PORT",
)
INPUT_TOPIC = Setting(
    "input_topic",
    "--input-topic",
    "TXSCREEN_INPUT_TOPIC",
    DEFAULT_TOPICS.input,
    "topic the payment events are read from",
    metavar="TOPIC",
)
CLEARED_TOPIC = Setting(
    "cleared_topic",
    "--cleared-topic",
    "TXSCREEN_CLEARED_TOPIC",
    DEFAULT_TOPICS.cleared,
    "topic cleared events go to, as their original bytes",
    metavar="TOPIC",
)
BLOCKED_TOPIC = Setting(
    "blocked_topic",
    "--blocked-topic",
    "TXSCREEN_BLOCKED_TOPIC",
    DEFAULT_TOPICS.blocked,
    "topic blocked records go to (the event with the hits that blocked it)",
    metavar="TOPIC",
)
DLQ_TOPIC = Setting(
    "dlq_topic",
    "--dlq-topic",
    "TXSCREEN_DLQ_TOPIC",
    DEFAULT_TOPICS.dlq,
    "topic dead letters go to (inputs that are not valid payment events)",
    metavar="TOPIC",
)
REPLAYED_TOPIC = Setting(
    "replayed_topic",
    "--replayed-topic",
    "TXSCREEN_REPLAYED_TOPIC",
    None,
    "topic txscreen dlq replay records each replayed dead letter in (topics create makes it too); "
    "none means the dead-letter topic's name + .replayed",
    metavar="TOPIC",
)
DECISIONS_TOPIC = Setting(
    "decisions_topic",
    "--decisions-topic",
    "TXSCREEN_DECISIONS_TOPIC",
    DEFAULT_TOPICS.decisions,
    "the review audit log: every proposal, approval, refusal, release, confirmation and allowlist change "
    "(unlimited retention)",
    metavar="TOPIC",
)
CONFIRMED_TOPIC = Setting(
    "confirmed_topic",
    "--confirmed-topic",
    "TXSCREEN_CONFIRMED_TOPIC",
    DEFAULT_TOPICS.confirmed,
    "topic confirmed true matches go to: the blocked record with the deciding decisions",
    metavar="TOPIC",
)
ALLOWLIST_TOPIC = Setting(
    "allowlist_topic",
    "--allowlist-topic",
    "TXSCREEN_ALLOWLIST_TOPIC",
    DEFAULT_TOPICS.allowlist,
    "the approved allowlist entries (compacted; key = entry id); txscreen run follows it",
    metavar="TOPIC",
)
KAFKA_CONFIG_FILE = Setting(
    "kafka_config_file",
    "--kafka-config",
    "TXSCREEN_KAFKA_CONFIG_FILE",
    None,
    "a properties file of librdkafka options (key=value lines), read first",
    parse=_text,
    metavar="FILE",
)
KAFKA_OPTIONS = Setting(
    "kafka_options",
    "-X",
    "TXSCREEN_KAFKA_CONFIG",
    (),
    "a librdkafka option key=value, e.g. security.protocol=SASL_SSL; repeatable; a consumer. or producer. "
    "prefix sends it to that client only; the env var holds entries separated by ';' or newlines",
    metavar="KEY=VALUE",
)
KAFKA_SETTINGS: Final = (
    BOOTSTRAP_SERVERS,
    INPUT_TOPIC,
    CLEARED_TOPIC,
    BLOCKED_TOPIC,
    DLQ_TOPIC,
    DECISIONS_TOPIC,
    CONFIRMED_TOPIC,
    ALLOWLIST_TOPIC,
    KAFKA_CONFIG_FILE,
    KAFKA_OPTIONS,
)

GROUP_ID = Setting(
    "group_id",
    "--group-id",
    "TXSCREEN_GROUP_ID",
    DEFAULT_WORKER.group_id,
    "consumer group of the workers",
    metavar="GROUP",
)
INSTANCE_ID = Setting(
    "instance_id",
    "--instance-id",
    "TXSCREEN_INSTANCE_ID",
    None,
    "a stable name for this worker, unique in its group (e.g. a StatefulSet pod name): it becomes the "
    "static group.instance.id and the transactional.id suffix, so a restarted worker takes over at "
    "once; without it a random suffix is used",
    parse=_instance_id,
    metavar="NAME",
)
GUARANTEE = Setting(
    "guarantee",
    "--guarantee",
    "TXSCREEN_GUARANTEE",
    Guarantee.EXACTLY_ONCE,
    "exactly-once (transactions) or at-least-once (lower latency, a crash may repeat a batch)",
    parse=_guarantee,
    metavar="MODE",
)
WATCHLISTS = Setting(
    "watchlists",
    "--watchlist",
    "TXSCREEN_WATCHLIST",
    (),
    "watchlist sources, as for txscreen screen (flag repeatable; the env var separates them with ';'); "
    "empty means builtin + the bundled OFAC SDN and UN snapshots",
    metavar="SRC",
)
WATCHLIST_TOPIC = Setting(
    "watchlist_topic",
    "--watchlist-topic",
    "TXSCREEN_WATCHLIST_TOPIC",
    None,
    "follow the list versions published to this topic (txscreen lists publish) instead of loading "
    "--watchlist: start from the newest version that builds, waiting (consuming nothing) until there is "
    "one, and swap each new version in between two batches; none loads --watchlist once",
    parse=_optional_text,
    metavar="TOPIC",
)
FUZZY = Setting(
    "fuzzy",
    "--fuzzy",
    "TXSCREEN_FUZZY",
    "on",
    "the fuzzy tier: listed names of 9 letters or more also match within 1 edit (2 from 16 letters): "
    "on or off",
    parse=_on_off,
    metavar="on|off",
)
FUZZY_LISTS = Setting(
    "fuzzy_lists",
    "--fuzzy-lists",
    "TXSCREEN_FUZZY_LISTS",
    (),
    "list ids whose names the fuzzy tier searches, comma-separated (e.g. ofac-sdn,un); empty: every list",
    parse=_list_ids,
    metavar="IDS",
)
BUILD_CACHE = Setting(
    "build_cache",
    "--build-cache",
    "TXSCREEN_BUILD_CACHE",
    "$XDG_CACHE_HOME/txscreen",
    "where start-up keeps the lists and the automaton's derived build inputs, keyed by the lists' bytes "
    "and txscreen's code (the next start-up with the same lists reads them back), or off; default "
    "$XDG_CACHE_HOME/txscreen, else ~/.cache/txscreen",
    parse=_cache_folder,
    metavar="off|DIR",
)
MAX_BATCH = Setting(
    "max_batch",
    "--max-batch",
    "TXSCREEN_MAX_BATCH",
    DEFAULT_WORKER.max_batch,
    "most events consumed, screened and committed in one transaction",
    parse=_batch_size,
    metavar="N",
)
BATCH_TIMEOUT = Setting(
    "batch_timeout",
    "--batch-timeout",
    "TXSCREEN_BATCH_TIMEOUT",
    DEFAULT_WORKER.batch_timeout,
    "seconds a batch fills, from when the previous batch was consumed (--latency throughput); also the "
    "longest wait for a first event before the worker looks up (status line, stop request)",
    parse=_positive_seconds,
    metavar="SECONDS",
)
LATENCY = Setting(
    "latency",
    "--latency",
    "TXSCREEN_LATENCY",
    DEFAULT_WORKER.latency,
    "throughput: a batch fills until --batch-timeout after the previous one (at most one transaction per "
    "batch timeout); low: a batch is what has arrived and commits as soon as the previous one did, for a "
    "p99 of tens of milliseconds at half the maximum rate, still exactly-once (see Operations: latency)",
    parse=_latency,
    metavar="PROFILE",
)
STATUS_INTERVAL = Setting(
    "status_interval",
    "--status-interval",
    "TXSCREEN_STATUS_INTERVAL",
    DEFAULT_WORKER.status_interval,
    "seconds between status lines (events/s, counts per output, lag); 0 turns them off",
    parse=_seconds,
    metavar="SECONDS",
)
UNTIL_IDLE = Setting(
    "until_idle",
    "--until-idle",
    "TXSCREEN_UNTIL_IDLE",
    None,
    "stop after this many seconds without input (once partitions were assigned); none runs until stopped",
    parse=_optional_seconds,
    metavar="SECONDS",
)
MAX_EVENTS = Setting(
    "max_events",
    "--max-events",
    "TXSCREEN_MAX_EVENTS",
    None,
    "stop once this many events were processed and committed; none runs until stopped",
    parse=_optional_count,
    metavar="N",
)
WORKER_SETTINGS: Final = (
    GROUP_ID,
    INSTANCE_ID,
    GUARANTEE,
    MAX_BATCH,
    BATCH_TIMEOUT,
    LATENCY,
    STATUS_INTERVAL,
    UNTIL_IDLE,
    MAX_EVENTS,
)


# --- building the settings ----------------------------------------------------------------------------


def add_kafka_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags every Kafka command takes."""
    for setting in KAFKA_SETTINGS:
        if setting is KAFKA_OPTIONS:
            parser.add_argument(
                "-X",
                dest=setting.name,
                metavar=setting.metavar,
                action="append",
                default=None,
                help=f"{setting.meaning} (env {setting.env})",
            )
        else:
            setting.add_to(parser)


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``run`` and ``copy`` beyond the Kafka ones (``--watchlist`` is added by streams.lists)."""
    for setting in WORKER_SETTINGS:
        setting.add_to(parser)


def parse_option(entry: str, where: str) -> tuple[str, str]:
    """``key=value`` as a pair; ConfigError for anything else or for an option txscreen sets itself."""
    key, eq, value = entry.partition("=")
    key = key.strip()
    if not eq or not key or any(c.isspace() for c in key):
        raise ConfigError(f"{where} expects key=value (a librdkafka option), not {shown_entry(entry)!r}.")
    bare = key
    for prefix in CLIENT_PREFIXES:
        bare = bare.removeprefix(f"{prefix}.")
    reason = _RESERVED.get(bare)
    if reason is not None:
        raise ConfigError(f"{where} may not set {key}: {reason}.")
    return key, value.strip()


def read_properties(path: Path) -> list[tuple[str, str]]:
    """The ``key=value`` (or ``key: value``) lines of a properties file; '#' and '!' start comments."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the Kafka properties file {path}: {exc.strerror or exc}.") from exc
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#!":
            continue
        if "=" not in stripped and ":" in stripped:
            stripped = stripped.replace(":", "=", 1)
        pairs.append(parse_option(stripped, f"{path}:{number}"))
    return pairs


def client_options(args: argparse.Namespace, environ: Mapping[str, str]) -> ClientOptions:
    """The raw librdkafka options: properties file, then TXSCREEN_KAFKA_CONFIG, then ``-X`` (later wins)."""
    pairs: list[tuple[str, str]] = []
    file = KAFKA_CONFIG_FILE.value(args, environ)
    if file is not None:
        pairs += read_properties(Path(file).expanduser())
    from_env = environ.get(KAFKA_OPTIONS.env or "", "")
    for entry in _ENV_LIST_SEPARATOR.split(from_env):
        if entry.strip():
            pairs.append(parse_option(entry, KAFKA_OPTIONS.env or ""))
    for entry in getattr(args, KAFKA_OPTIONS.name, None) or ():
        pairs.append(parse_option(entry, "-X"))
    return ClientOptions(tuple(pairs))


def kafka_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> KafkaSettings:
    """The Kafka settings from parsed flags, falling back to ``environ`` and then the defaults."""
    topics = Topics(
        input=INPUT_TOPIC.value(args, environ),
        cleared=CLEARED_TOPIC.value(args, environ),
        blocked=BLOCKED_TOPIC.value(args, environ),
        dlq=DLQ_TOPIC.value(args, environ),
        replayed=REPLAYED_TOPIC.value(args, environ) or "",
        decisions=DECISIONS_TOPIC.value(args, environ),
        confirmed=CONFIRMED_TOPIC.value(args, environ),
        allowlist=ALLOWLIST_TOPIC.value(args, environ),
    )
    if len(set(topics.all)) != len(topics.all):
        raise ConfigError(f"the input and output topics must be four different topics, got {topics.all}.")
    if topics.replayed in topics.all:
        raise ConfigError(f"the replay audit topic must differ from {', '.join(topics.all)}.")
    if len(set(topics.managed)) != len(topics.managed):
        raise ConfigError(
            f"the review topics {', '.join(topics.review)} must differ from each other and "
            "from the input, output and replay audit topics."
        )
    return KafkaSettings(
        bootstrap_servers=BOOTSTRAP_SERVERS.value(args, environ),
        topics=topics,
        client_options=client_options(args, environ),
    )


def watchlist_sources(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[str, ...]:
    """The one reading of the sources: ``--watchlist`` flags, else ``TXSCREEN_WATCHLIST`` (``;`` between)."""
    given: Sequence[str] | None = getattr(args, WATCHLISTS.name, None)
    if given:
        return tuple(given)
    raw = environ.get(WATCHLISTS.env or "", "")
    return tuple(part.strip() for part in raw.split(";") if part.strip())


def worker_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> WorkerSettings:
    """The settings of ``run``/``copy`` from parsed flags, falling back to ``environ`` and the defaults."""
    values = {setting.name: setting.value(args, environ) for setting in WORKER_SETTINGS}
    watchlists = watchlist_sources(args, environ)
    topic = WATCHLIST_TOPIC.value(args, environ)
    if topic and watchlists:
        raise ConfigError(
            "give either --watchlist (lists loaded once) or --watchlist-topic (lists followed), not both."
        )
    return WorkerSettings(
        kafka=kafka_settings(args, environ),
        watchlists=watchlists,
        watchlist_topic=topic,
        fuzzy=fuzzy_choice(args, environ),
        **values,
    )


def fuzzy_choice(args: argparse.Namespace, environ: Mapping[str, str]) -> FuzzyChoice:
    """``--fuzzy``, ``--fuzzy-lists`` and ``--build-cache`` (else their environment variables, else on
    for every list, with the cache in the user's cache folder)."""
    on = FUZZY.value(args, environ)
    if isinstance(on, str):  # the default, as shown in the help
        on = _on_off(on, FUZZY.flag)
    lists = tuple(FUZZY_LISTS.value(args, environ)) or None
    return FuzzyChoice(on=on, lists=lists, cache=build_cache_folder(args, environ))


def build_cache_folder(args: argparse.Namespace, environ: Mapping[str, str]) -> Path | None:
    """``--build-cache`` (else ``TXSCREEN_BUILD_CACHE``): ``None`` for off; by default
    ``$XDG_CACHE_HOME/txscreen``, else ``$HOME/.cache/txscreen``, else (neither is set) off."""
    value = BUILD_CACHE.value(args, environ)
    if value == "off":
        return None
    if value != BUILD_CACHE.default:
        return Path(value).expanduser()
    xdg = environ.get("XDG_CACHE_HOME", "").strip()
    if xdg:
        return Path(xdg) / "txscreen"
    home = environ.get("HOME", "").strip()
    return Path(home) / ".cache" / "txscreen" if home else None


def settings_table(settings: Iterable[Setting] = (*KAFKA_SETTINGS, WATCHLISTS, *WORKER_SETTINGS)) -> str:
    """The settings as a Markdown table (for the README): setting, flag, environment variable, default."""
    rows = [
        "| setting | flag | environment variable | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for s in settings:
        default = "–" if s.default in (None, ()) else f"`{s.default}`"
        flag = f"`{s.flag} {s.metavar or s.name.upper()}`"
        env = f"`{s.env}`" if s.env else "–"
        rows.append(f"| {s.name} | {flag} | {env} | {default} | {s.meaning} |")
    return "\n".join(rows)


def add_fuzzy_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the build options of commands that screen: ``--fuzzy on|off``, ``--fuzzy-lists IDS`` and
    ``--build-cache off|DIR``."""
    FUZZY.add_to(parser)
    FUZZY_LISTS.add_to(parser)
    BUILD_CACHE.add_to(parser)


def add_watchlist_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable ``--watchlist SRC`` option."""
    parser.add_argument(
        "--watchlist",
        dest="watchlists",
        metavar="SRC",
        action="append",
        default=None,
        help=(
            "a watchlist: 'builtin', a folder holding an OFAC sdn.csv ('extract:FOLDER' for a hand-made "
            "extract without OFAC's end-of-file byte), a UN or EU FSF .xml file, an EU FSF .csv file, an "
            "OpenSanctions .ftm.json/.jsonl file, a UK OFSI .csv/.xlsx file or a native .yaml/.json list "
            "(repeatable; else TXSCREEN_WATCHLIST, ';'-separated; default: builtin + the bundled OFAC SDN "
            "and UN snapshots)"
        ),
    )
