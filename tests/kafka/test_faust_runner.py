"""The Faust engine on a real broker: the same outputs as the confluent-kafka worker, its web view,
fail-closed start, read_committed input, and at-least-once delivery under failures and kill -9.

Every Faust worker runs as a subprocess (``txscreen run --engine faust`` or Faust's own CLI) and is
stopped by the test (SIGTERM, else SIGKILL at teardown).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from schemas.records import decode_blocked, decode_dead_letter
from streams.headers import SCREENED_AT, WATCHLIST_VERSION, last_header
from streams.loadgen.synthetic import EventFactory
from streams.localbroker.broker import free_ports

# The mixed input and the helpers of the confluent-kafka worker's tests: one source for both engines.
from tests.kafka.test_kafka_worker import (
    BROKEN_TXSCREEN_LIST,
    HITS,
    MALFORMED,
    NEAR_MISSES,
    SDN_EXTRACT,
    read_all,
    topic_flags,
    txscreen,
)
from tests.kafka.test_worker_faults import Feeder, make_events, wait_until

pytestmark = pytest.mark.kafka

REPO = Path(__file__).resolve().parents[2]
LISTS = ("--watchlist", "builtin", "--watchlist", str(SDN_EXTRACT))


class FaustWorker:
    """One Faust engine subprocess: its log, its web view, a clean stop or a kill."""

    def __init__(self, command: Sequence[str], web_port: int, log_path: Path, env: dict[str, str]) -> None:
        self.web_port = web_port
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                list(command), stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env, start_new_session=True
            )

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str) -> str | None:
        """The body of a web view page, or None while the server does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}{path}", timeout=2) as reply:
                return str(reply.read().decode("utf-8"))
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def status(self) -> dict[str, Any] | None:
        body = self.get("/txscreen/status/")
        return None if body is None else dict(json.loads(body))

    def wait_screened(self, count: int, timeout: float = 90.0) -> dict[str, Any]:
        """The status once at least ``count`` events were screened and delivered."""
        deadline = time.monotonic() + timeout
        status: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            assert self.alive(), self.log()
            status = self.status()
            if status is not None and status["screened"] >= count:
                return status
            time.sleep(0.2)
        pytest.fail(f"the Faust worker screened {status} of {count} events in {timeout} s:\n{self.log()}")

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, as an orchestrator would; its exit status."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)


def listening_on(port: int) -> set[str]:
    """The IPv4 addresses with a TCP socket listening on ``port`` (Linux /proc/net/tcp; empty elsewhere)."""
    table = Path("/proc/net/tcp")
    if not table.exists():
        return set()
    found = set()
    for line in table.read_text().splitlines()[1:]:
        fields = line.split()
        address, port_hex = fields[1].split(":")
        if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
            found.add(".".join(str(b) for b in reversed(bytes.fromhex(address))))
    return found


@pytest.fixture
def faust_worker(tmp_path: Path) -> Iterator[Callable[..., FaustWorker]]:
    """``faust_worker(*args, name=…, cli=False, env=None)``: a Faust engine subprocess, killed at teardown.

    ``args`` are flags for ``txscreen run --engine faust``, or (``cli=True``) the
    arguments after ``faust -A streams.faust.main worker`` with the settings in ``env``.
    """
    workers: list[FaustWorker] = []

    def start(
        *args: str, name: str = "faust", cli: bool = False, env: dict[str, str] | None = None
    ) -> FaustWorker:
        (port,) = free_ports(1)
        if cli:
            command = [sys.executable, "-m", "faust", "-A", "streams.faust.main", "worker", "-l", "info"]
            command += ["--web-port", str(port), *args]
        else:
            command = [
                sys.executable,
                "-m",
                "streams.cli",
                "run",
                "--engine",
                "faust",
                *args,
                "--web-port",
                str(port),
            ]
        environ = {**os.environ, **(env or {})}
        worker = FaustWorker(command, port, tmp_path / f"{name}-{len(workers)}.log", environ)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.alive():
            worker.kill9()


def produce_mixed(bootstrap: str, topic: str) -> tuple[dict[bytes, bytes], dict[bytes, tuple[int, int]]]:
    """The mixed input of the worker's round trip, with two headers each; inputs and (partition, offset)."""
    factory = EventFactory(seed=7, listed_share=0.0)
    clean = {f"clean-{n}".encode(): factory.raw() for n in range(200)}
    inputs = {**clean, **NEAR_MISSES, **{k: v for k, (v, _) in HITS.items()}, **MALFORMED}
    origin: dict[bytes, tuple[int, int]] = {}

    def delivered(error: object, message: Message) -> None:
        assert error is None
        origin[message.key() or b""] = (message.partition() or 0, message.offset() or 0)

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for key, value in inputs.items():
        producer.produce(
            topic, value, key, headers=[("origin", b"test"), ("trace-id", key)], on_delivery=delivered
        )
    assert producer.flush(30) == 0
    return inputs, origin


def outputs(bootstrap: str, topics: Sequence[str]) -> dict[bytes, tuple[str, Message]]:
    """Each output record by its key, with the kind of topic it is in (cleared, blocked or dlq)."""
    found: dict[bytes, tuple[str, Message]] = {}
    for kind, topic in zip(("cleared", "blocked", "dlq"), topics, strict=True):
        for message in read_all(bootstrap, topic):
            key = message.key() or b""
            assert key not in found, f"{key!r} twice"
            found[key] = (kind, message)
    return found


def keys_in(bootstrap: str, topics: Sequence[str]) -> Counter[bytes]:
    """How often each key appears across ``topics`` (each read to its end)."""
    return Counter(message.key() or b"" for topic in topics for message in read_all(bootstrap, topic, 60.0))


def comparable(kind: str, message: Message) -> dict[str, Any]:
    """What must not differ between engines: value (stamps removed), partition and headers (stamp removed)."""
    raw = message.value() or b""
    value: Any = raw
    if kind == "blocked":
        record = decode_blocked(raw)
        value = {
            "event": record.event,
            "hits": record.hits,
            "hits_total": record.hits_total,
            "source": record.source,
            "version": record.watchlist_version,
        }
    elif kind == "dlq":
        letter = decode_dead_letter(raw)
        value = {
            "raw": letter.raw,
            "encoding": letter.raw_encoding,
            "error": letter.error,
            "source": letter.source,
        }
    headers = [(k, v) for k, v in message.headers() or [] if k != SCREENED_AT]
    return {"kind": kind, "value": value, "partition": message.partition(), "headers": headers}


@pytest.mark.timeout(300)
def test_faust_engine_routes_the_mixed_file_exactly_as_the_worker(
    kafka_bootstrap: str,
    kafka_admin: AdminClient,
    make_topics: Callable[..., list[str]],
    unique_name: Callable[[str], str],
    faust_worker: Callable[..., FaustWorker],
) -> None:
    """Both engines, one input: identical verdicts, bytes, records, reasons and headers; web view counts."""
    topics = make_topics(
        "payments", "cleared", "blocked", "dlq", "f-cleared", "f-blocked", "f-dlq", partitions=3
    )
    source, worker_topics, faust_topics = topics[0], topics[1:4], topics[4:]
    inputs, origin = produce_mixed(kafka_bootstrap, source)
    faust_group = unique_name("faust")
    before = set(kafka_admin.list_topics(timeout=10).topics)

    engine = faust_worker(
        *topic_flags(kafka_bootstrap, [source, *faust_topics]), "--group-id", faust_group, *LISTS,
        "--status-interval", "1",
    )  # fmt: skip
    run = txscreen(
        "run", *topic_flags(kafka_bootstrap, [source, *worker_topics]), "--group-id", unique_name("worker"),
        "--until-idle", "3", *LISTS,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    status = engine.wait_screened(len(inputs))
    page = engine.get("/txscreen/")
    bound = listening_on(engine.web_port)  # the web view has no authentication: loopback only
    assert engine.stop() == 0, engine.log()
    assert bound <= {"127.0.0.1"}
    assert bound or not Path("/proc/net/tcp").exists()
    assert f"web view on 127.0.0.1:{engine.web_port}" in engine.log()

    assert status["screened"] == len(inputs) == 209
    assert (status["cleared"], status["blocked"], status["dead_lettered"]) == (202, 4, 3)
    assert status["hits_by_list"] == {"ofac-sdn": 1, "us-eo-2020": 3}
    assert status["engine"] == "faust"
    assert status["guarantee"] == "at-least-once"
    assert [wl["list"] for wl in status["watchlists"]] == ["us-eo-2020", "ofac-sdn"]
    assert page is not None
    assert "dead lettered" in page
    assert status["watchlist_version"] in page
    log = engine.log()
    assert "processed 209 events" in log
    assert "status: " in log
    assert "Traceback" not in log

    by_worker = outputs(kafka_bootstrap, worker_topics)
    by_faust = outputs(kafka_bootstrap, faust_topics)
    assert set(by_worker) == set(by_faust) == set(inputs)
    for key, (kind, message) in by_worker.items():
        assert comparable(*by_faust[key]) == comparable(kind, message), key
    for key, (kind, message) in by_faust.items():
        assert last_header(message.headers(), WATCHLIST_VERSION) == status["watchlist_version"].encode()
        if kind == "cleared":
            assert message.value() == inputs[key]
        if kind == "dlq":
            partition, offset = origin[key]
            assert decode_dead_letter(message.value() or b"").source == {
                "topic": source, "partition": partition, "offset": offset,
            }  # fmt: skip
    created = set(kafka_admin.list_topics(timeout=10).topics) - before
    assert not {t for t in created if faust_group in t}, created  # Faust created no topic of its own


@pytest.mark.parametrize(
    "case",
    [
        (False, "/nonexistent/list.yaml"),
        (False, str(BROKEN_TXSCREEN_LIST)),
        (True, "/nonexistent/list.yaml"),
        (True, str(BROKEN_TXSCREEN_LIST)),
    ],
    ids=["module-missing", "module-broken", "faust-cli-missing", "faust-cli-broken"],
)
def test_a_watchlist_that_does_not_load_stops_the_faust_engine_before_it_consumes(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    group_id: str,
    faust_worker: Callable[..., FaustWorker],
    case: tuple[bool, str],
) -> None:
    """Fail closed, from both entry points: exit 2 with one sentence, no group, no offsets, no output."""
    cli, watchlist = case
    topics = make_topics("payments", "cleared", "blocked", "dlq", partitions=2)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for value in EventFactory(seed=1).stream(20):
        producer.produce(topics[0], value)
    assert producer.flush(30) == 0

    if cli:
        env = {
            "TXSCREEN_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "TXSCREEN_INPUT_TOPIC": topics[0],
            "TXSCREEN_CLEARED_TOPIC": topics[1],
            "TXSCREEN_BLOCKED_TOPIC": topics[2],
            "TXSCREEN_DLQ_TOPIC": topics[3],
            "TXSCREEN_GROUP_ID": group_id,
            "TXSCREEN_WATCHLIST": watchlist,
        }
        engine = faust_worker(cli=True, env=env)
    else:
        engine = faust_worker(
            *topic_flags(kafka_bootstrap, topics), "--group-id", group_id, "--watchlist", watchlist
        )
    assert engine.process.wait(120) == 2, engine.log()
    log = engine.log()
    assert log.strip().splitlines()[-1].startswith("txscreen: error:"), log
    assert "Traceback" not in log

    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    assert group_id not in {g.group_id for g in admin.list_consumer_groups().result(timeout=30).valid}
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": f"{group_id}-check"})
    try:
        for topic in topics[1:]:
            for partition in range(2):
                _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                assert high == 0
    finally:
        consumer.close()


def test_faust_cli_entry_point_screens_with_settings_from_the_environment(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    group_id: str,
    faust_worker: Callable[..., FaustWorker],
) -> None:
    """``faust -A streams.faust.main worker`` builds the app lazily from TXSCREEN_ variables and screens."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", partitions=2)
    inputs, _origin = produce_mixed(kafka_bootstrap, topics[0])
    env = {
        "TXSCREEN_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "TXSCREEN_INPUT_TOPIC": topics[0],
        "TXSCREEN_CLEARED_TOPIC": topics[1],
        "TXSCREEN_BLOCKED_TOPIC": topics[2],
        "TXSCREEN_DLQ_TOPIC": topics[3],
        "TXSCREEN_GROUP_ID": group_id,
        "TXSCREEN_WATCHLIST": f"builtin;{SDN_EXTRACT}",
    }
    engine = faust_worker(cli=True, env=env)
    status = engine.wait_screened(len(inputs))
    assert engine.stop() == 0, engine.log()
    assert (status["cleared"], status["blocked"], status["dead_lettered"]) == (202, 4, 3)
    found = outputs(kafka_bootstrap, topics[1:])
    assert {key for key, (kind, _) in found.items() if kind == "blocked"} == set(HITS)


def test_records_of_an_aborted_transaction_are_not_screened(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    group_id: str,
    faust_worker: Callable[..., FaustWorker],
) -> None:
    """The input is read read_committed: an upstream producer's aborted records produce no output."""
    topics = make_topics("payments", "cleared", "blocked", "dlq")
    factory = EventFactory(seed=5, listed_share=0.0)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "transactional.id": f"{group_id}-upstream"})
    producer.init_transactions(30)
    for outcome in ("aborted", "committed"):
        producer.begin_transaction()
        for n in range(5):
            producer.produce(topics[0], factory.raw(), f"{outcome}-{n}".encode())
        assert producer.flush(30) == 0  # in the log before the abort, not purged from the client
        if outcome == "aborted":
            producer.abort_transaction(30)
        else:
            producer.commit_transaction(30)

    engine = faust_worker(
        *topic_flags(kafka_bootstrap, topics), "--group-id", group_id, "--watchlist", "builtin"
    )
    engine.wait_screened(5)
    time.sleep(2.0)  # anything else that would come comes now
    status = engine.status()
    assert engine.stop() == 0, engine.log()
    assert status is not None
    assert status["screened"] == 5
    assert set(outputs(kafka_bootstrap, topics[1:])) == {f"committed-{n}".encode() for n in range(5)}


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> list[int]:
    """The group's committed offsets on ``topic`` (-1 where none)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
    finally:
        consumer.close()
    return [max(tp.offset, -1) for tp in tps]


@pytest.mark.timeout(240)
def test_a_batch_whose_outputs_are_refused_is_not_committed_and_is_screened_again(
    kafka_bootstrap: str,
    kafka_admin: AdminClient,
    make_topics: Callable[..., list[str]],
    group_id: str,
    faust_worker: Callable[..., FaustWorker],
) -> None:
    """A refused output stops the engine with status 2 before its batch commits; a restart delivers it."""
    source, cleared, dlq = make_topics("payments", "cleared", "dlq")
    (blocked,) = make_topics("blocked", config={"max.message.bytes": "300"})  # no blocked record fits
    keys = [f"clean-{n:03d}".encode() for n in range(40)]
    keys[25] = b"hit-tiktok"
    factory = EventFactory(seed=9, listed_share=0.0)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    for key in keys:
        producer.produce(source, HITS[key][0] if key in HITS else factory.raw(), key)
    assert producer.flush(30) == 0
    topics = [source, cleared, blocked, dlq]
    flags = (
        *topic_flags(kafka_bootstrap, topics), "--group-id", group_id, "--watchlist", "builtin",
        "-X", "consumer.session.timeout.ms=6000",  # the killed first worker leaves the group sooner
    )  # fmt: skip

    first = faust_worker(*flags, "--max-batch", "10", name="refused")
    assert first.process.wait(120) == 2, first.log()
    assert "could not deliver the outputs of" in first.log()
    # Faust hands over whatever is fetched, up to --max-batch: the refused batch holds offset 25, its
    # first offset is not known, but nothing from 25 on was committed
    assert committed(kafka_bootstrap, group_id, source, 1)[0] <= 25

    bigger = ConfigEntry("max.message.bytes", "1048588", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource("topic", blocked, incremental_configs=[bigger])
    for future in kafka_admin.incremental_alter_configs([resource]).values():
        future.result(30)
    second = faust_worker(*flags, "--max-batch", "10", "--until-idle", "3", name="restarted")
    assert second.process.wait(120) == 0, second.log()
    assert committed(kafka_bootstrap, group_id, source, 1) == [40]
    found = keys_in(kafka_bootstrap, [cleared, blocked, dlq])
    assert set(found) == set(keys)  # every input at least once: the refused batch was screened again
    assert found[b"hit-tiktok"] == 1  # refused the first time, delivered the second


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_kill_9_and_restarts_mid_stream_deliver_every_input_at_least_once(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    group_id: str,
    faust_worker: Callable[..., FaustWorker],
) -> None:
    """Faust workers killed (-9), joining and leaving while events stream: no input is lost."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", partitions=4)
    events = make_events(60_000)
    feeder = Feeder(kafka_bootstrap, topics[0], events, 3_000)  # 20 s of input
    feeder.start()
    flags = (
        *topic_flags(kafka_bootstrap, topics), "--group-id", group_id, "--watchlist", "builtin",
        "--max-batch", "1000", "-X", "consumer.session.timeout.ms=6000",
    )  # fmt: skip
    first = faust_worker(*flags, name="first")
    first.wait_screened(1)
    wait_until(feeder, 4.0)
    first.kill9()  # mid-stream, with batches delivered but not yet committed
    second = faust_worker(*flags, name="second")
    wait_until(feeder, 9.0)
    helper = faust_worker(*flags, name="helper")  # joins: a rebalance while the second one screens
    helper.wait_screened(1, timeout=30.0)
    assert helper.stop() == 0, helper.log()  # leaves cleanly: another rebalance
    second.wait_screened(1)
    wait_until(feeder, 16.0)
    second.kill9()
    last = faust_worker(*flags, "--until-idle", "5", name="last")
    feeder.join()
    assert feeder.failed == []
    assert last.process.wait(120) == 0, last.log()

    keys = keys_in(kafka_bootstrap, topics[1:])
    missing = {key for key, _ in events} - set(keys)
    assert not missing, f"{len(missing)} inputs lost, e.g. {sorted(missing)[:5]}"
    assert set(keys) == {key for key, _ in events}
    assert "processed" in helper.log()
