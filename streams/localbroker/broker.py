"""The project's own single-node Apache Kafka broker (KRaft), run from Maven Central jars, no Docker.

``ensure_jars`` fetches the server jars once into a cache with Maven (the pom is
``streams/localbroker/broker-pom.xml``); ``LocalBroker`` formats a state dir, starts ``kafka.Kafka`` detached
in its own session, waits until it answers an admin request, and stops or kills it by pid.

A state dir holds everything one broker owns::

    server.properties   rendered from BrokerConfig on every start
    log4j2.properties   copied from the package on every start
    broker.pid          pid of the running JVM
    broker.log          the JVM's stdout/stderr: warnings, errors, crashes (truncated on start)
    server.log          the broker's full log, rolled by log4j2
    data/               log.dirs: the KRaft metadata log and the topic partitions

Nothing here reads the environment: the CLI (``streams/cli/broker.py``) and the test fixtures
build a ``BrokerConfig`` and pass it in.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from schemas.errors import BrokerError

logger = logging.getLogger(__name__)

KAFKA_VERSION = "4.4.0"
"""The kafka_2.13 release the broker runs: the newest 4.x on Maven Central; its server needs Java 17."""

SERVER_MAIN = "kafka.Kafka"
#: The JVM options Kafka's own start scripts give a broker (``KAFKA_JVM_PERFORMANCE_OPTS`` in
#: ``bin/kafka-run-class.sh``), which a broker started with ``kafka-server-start.sh`` has too: G1 with a
#: 20 ms pause goal (the JVM's default goal is 200 ms: a young collection of that length holds up every
#: produce, fetch and transaction commit in flight, straight into the workers' p99 latency).
JVM_PERFORMANCE_OPTIONS = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
)
STORAGE_TOOL_MAIN = "kafka.tools.StorageTool"
NODE_ID = 1

# Package data (pyproject ships streams/*.xml and *.properties), read from beside this module: a plain
# path works for wheels and for editable installs alike, where importlib.resources trips on namespaces.
_PACKAGE_DIR = Path(__file__).resolve().parent
_POM_TEMPLATE = "broker-pom.xml"
_LOG4J_CONFIG = "log4j2.properties"
_COMPLETE_MARKER = ".complete"
_MAVEN_TAIL_LINES = 25
_LOG_TAIL_LINES = 30

Progress = Callable[[str], None]


def _log_progress(message: str) -> None:
    logger.info("%s", message)


@dataclass(frozen=True)
class BrokerConfig:
    """Where and how one local broker runs; built once at the edge (CLI or fixture) and passed down."""

    host: str = "127.0.0.1"
    """Interface both listeners bind and the advertised host (``--host``)."""
    port: int = 9092
    """Client (PLAINTEXT) port (``--port``, ``TXSCREEN_KAFKA_PORT``)."""
    controller_port: int | None = None
    """KRaft controller port; None means ``port + 1`` (``--controller-port``)."""
    state_dir: Path | None = None
    """None means ``~/.local/state/txscreen/kafka-<port>`` (``--state-dir``, ``TXSCREEN_KAFKA_STATE``)."""
    cache_dir: Path | None = None
    """Jar cache; None means ``~/.cache/txscreen/kafka-<version>``.

    Flag ``--cache-dir``, environment variable ``TXSCREEN_KAFKA_CACHE``.
    """
    kafka_version: str = KAFKA_VERSION
    """Version of ``org.apache.kafka:kafka_2.13`` fetched into the cache."""
    heap: str = "1g"
    """Maximum JVM heap, as in ``-Xmx<heap>`` (``--heap``)."""
    extra_properties: tuple[tuple[str, str], ...] = ()
    """Broker settings appended last to server.properties, so they override the defaults."""

    @property
    def quorum_port(self) -> int:
        """The controller listener's port."""
        return self.port + 1 if self.controller_port is None else self.controller_port

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for clients."""
        return f"{self.host}:{self.port}"

    @property
    def state_path(self) -> Path:
        """The state dir, defaulted from the port."""
        if self.state_dir is not None:
            return self.state_dir
        return Path.home() / ".local" / "state" / "txscreen" / f"kafka-{self.port}"

    @property
    def cache_path(self) -> Path:
        """The jar cache, defaulted from the Kafka version."""
        if self.cache_dir is not None:
            return self.cache_dir
        return Path.home() / ".cache" / "txscreen" / f"kafka-{self.kafka_version}"

    @property
    def properties_file(self) -> Path:
        return self.state_path / "server.properties"

    @property
    def log4j_file(self) -> Path:
        return self.state_path / _LOG4J_CONFIG

    @property
    def pid_file(self) -> Path:
        return self.state_path / "broker.pid"

    @property
    def log_file(self) -> Path:
        """The JVM's stdout/stderr: where start-up failures show."""
        return self.state_path / "broker.log"

    @property
    def server_log_file(self) -> Path:
        """The broker's full INFO log."""
        return self.state_path / "server.log"

    @property
    def data_dir(self) -> Path:
        return self.state_path / "data"


@dataclass(frozen=True)
class BrokerStatus:
    """What ``LocalBroker.status`` found."""

    running: bool
    pid: int | None
    bootstrap_servers: str
    state_dir: Path
    log_file: Path


# --- pure helpers -------------------------------------------------------------------------------------


def server_settings(config: BrokerConfig) -> list[tuple[str, str]]:
    """The settings of a single-node broker+controller on which transactions and groups work at once."""
    host = config.host
    return [
        ("process.roles", "broker,controller"),
        ("node.id", str(NODE_ID)),
        ("listeners", f"PLAINTEXT://{host}:{config.port},CONTROLLER://{host}:{config.quorum_port}"),
        ("advertised.listeners", f"PLAINTEXT://{host}:{config.port}"),
        ("inter.broker.listener.name", "PLAINTEXT"),
        ("controller.listener.names", "CONTROLLER"),
        ("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"),
        # A static voter set: the controller port may change between runs without re-formatting.
        ("controller.quorum.voters", f"{NODE_ID}@{host}:{config.quorum_port}"),
        ("log.dirs", str(config.data_dir)),
        ("num.partitions", "1"),
        ("default.replication.factor", "1"),
        ("min.insync.replicas", "1"),
        ("auto.create.topics.enable", "false"),
        ("offsets.topic.replication.factor", "1"),
        ("offsets.topic.num.partitions", "10"),
        ("transaction.state.log.replication.factor", "1"),
        ("transaction.state.log.min.isr", "1"),
        ("transaction.state.log.num.partitions", "4"),
        ("share.coordinator.state.topic.replication.factor", "1"),
        ("share.coordinator.state.topic.min.isr", "1"),
        ("group.initial.rebalance.delay.ms", "0"),
        # After a crash the new incarnation waits for the old one's session to expire before it may
        # register; a 4 s session (defaults 2 s / 9 s) makes kill-and-restart tests 5 s faster each.
        ("broker.heartbeat.interval.ms", "1000"),
        ("broker.session.timeout.ms", "4000"),
        ("num.network.threads", "2"),
        ("num.io.threads", "4"),
        ("log.retention.hours", "168"),
        ("log.segment.bytes", str(64 * 1024 * 1024)),
        *config.extra_properties,
    ]


def render_server_properties(config: BrokerConfig) -> str:
    """The server.properties text of ``server_settings``; later keys win, as in Java's Properties."""
    lines = ["# Written by txscreen (streams/localbroker/broker.py) on every start; edits are overwritten."]
    lines += [f"{key}={value}" for key, value in server_settings(config)]
    return "\n".join(lines) + "\n"


def render_pom(kafka_version: str = KAFKA_VERSION) -> str:
    """The shipped broker pom with ``kafka.version`` set to ``kafka_version``."""
    if not re.fullmatch(r"[0-9A-Za-z.\-]+", kafka_version):
        raise BrokerError(f"{kafka_version!r} is not a Kafka version (expected something like 4.4.0).")
    template = (_PACKAGE_DIR / _POM_TEMPLATE).read_text(encoding="utf-8")
    rendered, count = re.subn(
        r"<kafka\.version>[^<]*</kafka\.version>", f"<kafka.version>{kafka_version}</kafka.version>", template
    )
    if count != 1:
        raise BrokerError(f"the packaged {_POM_TEMPLATE} has no single <kafka.version> property to set.")
    return rendered


def new_cluster_id() -> str:
    """A random KRaft cluster id: 16 random bytes, URL-safe base64 without padding, as Kafka's Uuid prints."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not text.startswith("-"):  # Kafka's own generator avoids ids that read like a flag
            return text


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on ``host:port`` (bound the way the JVM binds, SO_REUSEADDR on)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def free_ports(count: int = 1, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports free on ``host`` right now (asked of the kernel together)."""
    with contextlib.ExitStack() as stack:
        sockets = [
            stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)
        ]
        for sock in sockets:
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]


def tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a text file, or a note that it is missing."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:])


def _meaningful_lines(output: str) -> list[str]:
    """Maven's output without colour codes and empty ``[ERROR]`` lines."""
    lines = (re.sub(r"\x1b\[[0-9;]*m", "", line).rstrip() for line in output.splitlines())
    return [line for line in lines if line and line != "[ERROR]"]


# --- the jar cache ------------------------------------------------------------------------------------


def jars_ready(cache: Path) -> bool:
    """Whether a previous ``ensure_jars`` into ``cache`` finished and every jar it listed is still there."""
    marker = cache / _COMPLETE_MARKER
    libs = cache / "libs"
    try:
        names = marker.read_text(encoding="utf-8").split()
    except FileNotFoundError:
        return False
    return bool(names) and all((libs / name).is_file() for name in names)


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock so two processes never fetch into the same cache at once."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_jars(
    cache: Path,
    kafka_version: str = KAFKA_VERSION,
    *,
    mvn: str = "mvn",
    progress: Progress = _log_progress,
    timeout: float = 900.0,
) -> Path:
    """The folder of the broker's jars (``cache/libs``), fetched from Maven Central once into ``cache``."""
    libs = cache / "libs"
    if jars_ready(cache):
        return libs
    with _locked(cache / ".lock"):
        if jars_ready(cache):  # another process fetched while we waited for the lock
            return libs
        executable = shutil.which(mvn)
        if executable is None:
            raise BrokerError(
                f"Maven ({mvn}) is not on PATH, and it is needed once to fetch the Kafka jars into {cache}."
            )
        progress("fetching Kafka jars from Maven Central (once)…")
        staging = cache / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        pom = cache / "pom.xml"
        pom.write_text(render_pom(kafka_version), encoding="utf-8")
        command = [
            executable, "-B", "-q", "-Dstyle.color=never", "-f", str(pom),
            "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={staging}",
        ]  # fmt: skip
        logger.debug("running %s", " ".join(command))
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            message = f"Maven did not finish fetching the Kafka jars within {timeout:.0f} s."
            raise BrokerError(message) from exc
        if done.returncode != 0 or not any(staging.glob(f"kafka_2.13-{kafka_version}.jar")):
            output = "\n".join(_meaningful_lines(done.stdout + done.stderr)[-_MAVEN_TAIL_LINES:])
            raise BrokerError(
                f"Maven could not fetch Kafka {kafka_version} (exit status {done.returncode}); "
                f"its last lines:\n{output}"
            )
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
        names = sorted(path.name for path in libs.glob("*.jar"))
        (cache / _COMPLETE_MARKER).write_text("\n".join(names) + "\n", encoding="utf-8")
        logger.info("fetched %d jars of Kafka %s into %s", len(names), kafka_version, libs)
    return libs


# --- readiness ----------------------------------------------------------------------------------------


def _admin_client(bootstrap_servers: str) -> AdminClient:
    settings: dict[str, Any] = {
        "bootstrap.servers": bootstrap_servers,
        # librdkafka's own log lines go through logging rather than straight to stderr.
        "logger": logging.getLogger(f"{__name__}.rdkafka"),
    }
    return AdminClient(settings)


def _accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _lists_brokers(admin: AdminClient, timeout: float) -> bool:
    try:
        return bool(admin.list_topics(timeout=timeout).brokers)
    except KafkaException as exc:
        logger.debug("broker not answering yet: %s", exc)
        return False


def wait_until_answers(bootstrap_servers: str, timeout: float = 60.0) -> bool:
    """Whether a Kafka cluster at ``bootstrap_servers`` answers a metadata request within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    admin = _admin_client(bootstrap_servers)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if _lists_brokers(admin, timeout=min(5.0, max(remaining, 0.5))):
            return True
        time.sleep(0.25)


# --- the broker process -------------------------------------------------------------------------------


def _process_alive(pid: int, marker: str) -> bool:
    """Whether ``pid`` is a live (not zombie) process whose command line contains ``marker``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process: not our broker
    proc = Path("/proc") / str(pid)
    if not proc.exists():
        return True  # no procfs (macOS): trust the pid file
    try:
        stat = (proc / "stat").read_text()
        cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in {"Z", "X"} and marker in cmdline


def _signal(pid: int, signum: signal.Signals) -> None:
    """Send ``signum`` to ``pid``; a process that has just exited is not an error."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


class LocalBroker:
    """One single-node Kafka broker+controller whose state lives in ``config.state_path``."""

    def __init__(self, config: BrokerConfig, *, progress: Progress = _log_progress) -> None:
        self.config = config
        self._progress = progress
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"LocalBroker({self.bootstrap_servers}, state={self.config.state_path})"

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for clients."""
        return self.config.bootstrap_servers

    # --- queries ---

    def pid(self) -> int | None:
        """The pid of this state dir's running broker, or None (a stale pid file is ignored)."""
        if self._process is not None and self._process.poll() is None:
            return self._process.pid
        try:
            pid = int(self.config.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _process_alive(pid, str(self.config.properties_file)) else None

    def is_running(self) -> bool:
        """Whether this state dir's broker process is alive (it may still be starting)."""
        return self.pid() is not None

    def status(self) -> BrokerStatus:
        """Running or not, with pid, address and log file."""
        pid = self.pid()
        return BrokerStatus(
            running=pid is not None,
            pid=pid,
            bootstrap_servers=self.bootstrap_servers,
            state_dir=self.config.state_path,
            log_file=self.config.log_file,
        )

    # --- start ---

    def start(self, timeout: float = 180.0) -> str:
        """Start the broker (formatting storage the first time), wait until it answers, return its address.

        A no-op apart from the readiness wait when this state dir's broker already runs.
        """
        deadline = time.monotonic() + timeout
        if self.is_running():
            self._progress(f"broker already running (pid {self.pid()})")
            self._wait_until_ready(deadline)
            return self.bootstrap_servers
        self._check_ports_free()
        libs = ensure_jars(self.config.cache_path, self.config.kafka_version, progress=self._progress)
        java = shutil.which("java")
        if java is None:
            raise BrokerError("java is not on PATH; the local Kafka broker needs Java 17 or newer.")
        self._write_config_files()
        if not (self.config.data_dir / "meta.properties").exists():
            self._progress("formatting storage…")
            self._format_storage(java, libs)
        self._progress("starting broker…")
        self._spawn(java, libs)
        try:
            self._wait_until_ready(deadline)
        except BrokerError:
            self.kill()
            raise
        logger.debug("broker ready at %s (pid %s)", self.bootstrap_servers, self.pid())
        return self.bootstrap_servers

    def _check_ports_free(self) -> None:
        config = self.config
        for role, port in (("client", config.port), ("controller", config.quorum_port)):
            if port_in_use(config.host, port):
                raise BrokerError(
                    f"port {port} on {config.host} (the broker's {role} port) is already in use by another "
                    "process; stop it or choose other ports."
                )

    def _write_config_files(self) -> None:
        config = self.config
        config.state_path.mkdir(parents=True, exist_ok=True)
        config.properties_file.write_text(render_server_properties(config), encoding="utf-8")
        shutil.copyfile(_PACKAGE_DIR / _LOG4J_CONFIG, config.log4j_file)

    def _jvm_command(self, java: str, libs: Path, main: str) -> list[str]:
        config = self.config
        return [
            java,
            f"-Xmx{config.heap}",
            *JVM_PERFORMANCE_OPTIONS,
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={config.log4j_file}",
            f"-Dkafka.logs.dir={config.state_path}",
            "-cp",
            f"{libs}{os.sep}*",
            main,
        ]

    def _format_storage(self, java: str, libs: Path) -> None:
        cluster_id = new_cluster_id()
        command = [
            *self._jvm_command(java, libs, STORAGE_TOOL_MAIN),
            "format", "--cluster-id", cluster_id, "--config", str(self.config.properties_file),
        ]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        except subprocess.TimeoutExpired as exc:
            message = f"formatting the Kafka storage in {self.config.data_dir} took over 300 s."
            raise BrokerError(message) from exc
        if done.returncode != 0:
            output = "\n".join((done.stdout + done.stderr).splitlines()[-_LOG_TAIL_LINES:])
            raise BrokerError(f"formatting the Kafka storage in {self.config.data_dir} failed:\n{output}")
        logger.info("formatted %s with cluster id %s", self.config.data_dir, cluster_id)

    def _spawn(self, java: str, libs: Path) -> None:
        config = self.config
        command = [*self._jvm_command(java, libs, SERVER_MAIN), str(config.properties_file)]
        logger.debug("running %s", " ".join(command))
        with config.log_file.open("wb") as log:
            try:
                self._process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=config.state_path,
                    start_new_session=True,  # survives the launcher; Ctrl-C in its terminal does not reach it
                )
            except OSError as exc:
                raise BrokerError(f"could not run {java} to start the Kafka broker: {exc}.") from exc
        config.pid_file.write_text(f"{self._process.pid}\n", encoding="utf-8")

    def _wait_until_ready(self, deadline: float) -> None:
        """Wait until the broker lists itself in a metadata answer; BrokerError if it dies or time is up."""
        admin: AdminClient | None = None
        while True:
            if not self.is_running():
                code = self._process.poll() if self._process is not None else None
                ended = f" with status {code}" if code is not None else ""
                raise BrokerError(
                    f"the Kafka broker exited{ended} while starting; last lines of {self.config.log_file}:\n"
                    f"{tail(self.config.log_file)}"
                )
            if _accepts_connections(self.config.host, self.config.port):
                admin = admin or _admin_client(self.bootstrap_servers)
                if _lists_brokers(admin, timeout=2.0):
                    return
            if time.monotonic() >= deadline:
                raise BrokerError(
                    f"the Kafka broker at {self.bootstrap_servers} did not answer in time; "
                    f"last lines of {self.config.log_file}:\n{tail(self.config.log_file)}"
                )
            time.sleep(0.25)

    # --- stop ---

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop the broker gracefully (SIGTERM, SIGKILL after ``timeout``); False if it was not running."""
        pid = self.pid()
        if pid is None:
            self._forget()
            return False
        logger.info("stopping broker pid %d", pid)
        _signal(pid, signal.SIGTERM)
        if not self._wait_gone(pid, timeout):
            logger.warning("broker pid %d ignored SIGTERM for %.0f s; killing it", pid, timeout)
            _signal(pid, signal.SIGKILL)
            self._wait_gone(pid, 30.0)
        self._forget()
        return True

    def kill(self) -> bool:
        """Kill the broker at once (SIGKILL), as a crash would; False if it was not running."""
        pid = self.pid()
        if pid is None:
            self._forget()
            return False
        logger.info("killing broker pid %d", pid)
        _signal(pid, signal.SIGKILL)
        self._wait_gone(pid, 30.0)
        self._forget()
        return True

    def restart(self, timeout: float = 180.0) -> str:
        """Stop then start again on the same state dir; returns the address."""
        self.stop()
        return self.start(timeout)

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        if self._process is not None and self._process.pid == pid:
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        deadline = time.monotonic() + timeout
        while _process_alive(pid, str(self.config.properties_file)):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def _forget(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            self._process = None
        self.config.pid_file.unlink(missing_ok=True)
