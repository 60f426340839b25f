"""Live lists on a real broker: publish, follow and hot swap, re-screening, skipped versions, guards, faults.

The issue's eight steps: a worker follows the watchlist topic (``txscreen run --watchlist-topic``),
clears events naming a counterparty until a new version lists it, then blocks them in the same
process; ``txscreen rescreen`` finds the earlier ones exactly once; a corrupt version is skipped; the
guards refuse; kill -9 during a swap loses and repeats nothing; a worker with no version waits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import orjson
import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from matchers.sources import DEFAULT_SOURCES, load_watchlists
from matchers.watchlist import watchlist_version
from schemas.records import decode_blocked
from streams.headers import RESCREEN, WATCHLIST_VERSION, last_header
from streams.localbroker.broker import free_ports
from streams.settings import KafkaSettings
from streams.watchlists.codec import chunks_of, encode_manifest, manifest_key
from streams.watchlists.publish import build_manifest, ensure_topic
from streams.watchlists.sources import source_sha256
from tests.cli_runner import run_txscreen
from tests.kafka.test_kafka_worker import read_all, topic_flags
from tests.kafka.test_worker_faults import (
    PARTITIONS,
    Feeder,
    assert_exactly_once,
    committed_total,
    output_keys,
    wait_drained,
)

pytestmark = pytest.mark.kafka

REPO = Path(__file__).resolve().parents[2]
#: The counterparty of the test: on no list until version 2 adds it.
NEWLY_LISTED = "Quorvane Maritime Holdings"
#: Added by version 3, which never becomes current (its publish is corrupt).
NEVER_LISTED = "Velmora Shipping Trust"
WORKER_FLAGS = ("--max-batch", "500", "--batch-timeout", "0.1", "--status-interval", "2",
                "-X", "consumer.session.timeout.ms=6000")  # fmt: skip


def write_list(path: Path, extra: Sequence[str] = (), count: int = 20) -> str:
    """A txscreen list of ``count`` made-up companies plus ``extra`` names (one entity each)."""
    lines = ["format: txscreen-watchlist/v1", "list_id: live-test", "entities:"]
    names = [f"Fictional Sanctioned Company {n:03d}" for n in range(count)] + list(extra)
    for n, name in enumerate(names):
        lines += [f"  - id: e{n}", "    type: entity", "    names:", f"      - {name}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def event(event_id: str, creditor: str) -> bytes:
    return orjson.dumps(
        {
            "id": event_id,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "amount": "10.00",
            "currency": "EUR",
            "debtor": {"name": "Jane Doe", "country": "DE"},
            "creditor": {"name": creditor},
        }
    )


def send(bootstrap: str, topic: str, events: Sequence[tuple[str, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    for key, value in events:
        producer.produce(topic, value, key.encode())
    assert producer.flush(30) == 0


class Worker:
    """A ``txscreen run`` subprocess, its output in a log file."""

    def __init__(self, command: list[str], log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> int:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """``spawn(name, *args)``: a ``txscreen run`` subprocess, killed after the test."""
    workers: list[Worker] = []

    def start(name: str, *args: str) -> Worker:
        command = [sys.executable, "-m", "streams.cli", "run", *WORKER_FLAGS, *args]
        worker = Worker(command, tmp_path / f"{name}.log")
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.alive():
            worker.kill9()


def text(value: str | bytes | None) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def by_key(records: Sequence[Message]) -> dict[str, list[Message]]:
    found: dict[str, list[Message]] = {}
    for record in records:
        found.setdefault(text(record.key()), []).append(record)
    return found


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` until true; the seconds it took (fails the test after ``timeout``)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.3)
    pytest.fail(f"{what} did not happen within {timeout} s")


def publish(bootstrap: str, topic: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_txscreen(
        "lists", "publish", *args, "--bootstrap-servers", bootstrap, "--watchlist-topic", topic
    )


@pytest.mark.timeout(420)
def test_publish_follow_swap_rescreen_skip_and_guards(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    unique_name: Callable[[str], str],
    spawn: Callable[..., Worker],
    tmp_path: Path,
) -> None:
    """Steps 1-6: cleared under v1, blocked under v2 by the same process, re-screened once, corrupt versions
    skipped (v2 kept, shown in status), the shrink and empty-list guards refuse."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", partitions=2)
    watch = unique_name("watchlists")
    v1 = write_list(tmp_path / "v1.yaml")
    v2 = write_list(tmp_path / "v2.yaml", [NEWLY_LISTED])
    flags = topic_flags(kafka_bootstrap, topics)

    done = publish(kafka_bootstrap, watch, v1)  # 1. publish v1, start a worker
    assert done.returncode == 0, done.stderr
    version1 = watchlist_version(load_watchlists([v1]))
    assert version1 in done.stdout
    worker = spawn("worker", *flags, "--group-id", unique_name("group"), "--watchlist-topic", watch)

    early = [(f"early-{n}", event(f"early-{n}", NEWLY_LISTED)) for n in range(5)]  # 2. cleared
    send(kafka_bootstrap, topics[0], early)
    wait_for(lambda: len(read_all(kafka_bootstrap, topics[1])) >= 5, 90, "the early events being cleared")
    cleared = by_key(read_all(kafka_bootstrap, topics[1]))
    assert {text(last_header(r[0].headers(), WATCHLIST_VERSION)) for r in cleared.values()} == {version1}

    done = publish(kafka_bootstrap, watch, v2)  # 3. v2 lists the counterparty
    assert done.returncode == 0, done.stderr
    version2 = watchlist_version(load_watchlists([v2]))
    assert "1 added (live-test:e20)" in done.stdout
    published = time.monotonic()
    sent = 0

    def blocked_under_v2() -> bool:
        nonlocal sent
        send(kafka_bootstrap, topics[0], [(f"late-{sent}", event(f"late-{sent}", NEWLY_LISTED))])
        sent += 1
        return any(
            text(last_header(r.headers(), WATCHLIST_VERSION)) == version2
            for r in read_all(kafka_bootstrap, topics[2], timeout=5)
        )

    wait_for(blocked_under_v2, 60, "an event blocked under v2")
    delay = time.monotonic() - published
    print(f"publish -> first event blocked under v2: {delay:.2f} s (target 5 s; noisy shared machine)")
    assert delay <= 5.0, f"{delay:.2f} s from publish to the first event blocked under v2 (target 5 s)"
    assert worker.alive(), worker.log()  # the same process: no restart
    assert "replaces " + version1 in worker.log()
    late = [(f"late-{n}", event(f"late-{n}", NEWLY_LISTED)) for n in range(sent, sent + 5)]
    send(kafka_bootstrap, topics[0], late)
    wait_for(
        lambda: {k for k, _ in late} <= set(by_key(read_all(kafka_bootstrap, topics[2]))), 60, "late blocks"
    )
    for record in read_all(kafka_bootstrap, topics[2]):
        if text(record.key()) in {k for k, _ in late}:
            assert text(last_header(record.headers(), WATCHLIST_VERSION)) == version2

    # 4. rescreen finds the events cleared under v1, exactly once, and a second run finds nothing new.
    cleared_v1 = {
        key for key, records in by_key(read_all(kafka_bootstrap, topics[1])).items()
        if text(last_header(records[0].headers(), WATCHLIST_VERSION)) == version1
    }  # fmt: skip
    assert {k for k, _ in early} <= cleared_v1
    rescreen_flags = [
        *flags,
        "--watchlist-topic",
        watch,
        "--group-id",
        unique_name("rescreen"),
        "--idle",
        "3",
    ]
    done = run_txscreen("rescreen", "--since", "1h", *rescreen_flags)
    assert done.returncode == 0, done.stderr
    rescreened = [
        r for r in read_all(kafka_bootstrap, topics[2]) if last_header(r.headers(), RESCREEN) is not None
    ]
    assert Counter(text(r.key()) for r in rescreened) == Counter(cleared_v1)
    for record in rescreened:
        assert text(last_header(record.headers(), RESCREEN)) == f"{version1} -> {version2}"
        marker = decode_blocked(record.value()).rescreen
        assert marker is not None
        assert marker.previous_version == version1
    done = run_txscreen("rescreen", "--since", "1h", *rescreen_flags)
    assert done.returncode == 0, done.stderr
    again = [
        r for r in read_all(kafka_bootstrap, topics[2]) if last_header(r.headers(), RESCREEN) is not None
    ]
    assert len(again) == len(rescreened)

    # 5. a bad manifest and a version with a missing chunk are skipped; the worker keeps v2.
    v3 = write_list(tmp_path / "v3.yaml", [NEWLY_LISTED, NEVER_LISTED])
    lists3 = load_watchlists([v3])
    manifest3 = build_manifest(lists3, [v3], {v3: source_sha256(v3)}, "test", datetime.now(UTC))
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    chunks = list(chunks_of(manifest3.version, lists3[0], limit=300))
    assert len(chunks) > 2
    info = msgspec.structs.replace(manifest3.lists[0], chunks=len(chunks))
    manifest3 = msgspec.structs.replace(manifest3, lists=[info])
    for key, value in chunks[:1] + chunks[2:]:  # chunk 1 is missing
        producer.produce(watch, value, key.encode(), partition=0)
    producer.produce(watch, encode_manifest(manifest3), manifest_key(manifest3.version).encode(), partition=0)
    producer.produce(watch, b'{"format": "broken', manifest_key("sha256:" + "e" * 64).encode(), partition=0)
    assert producer.flush(30) == 0
    wait_for(
        lambda: worker.log().count("skipped watchlist version") >= 2, 60, "the worker skipping two versions"
    )
    after = [(f"after-{n}", event(f"after-{n}", name)) for n, name in enumerate([NEWLY_LISTED, NEVER_LISTED])]
    send(kafka_bootstrap, topics[0], after)
    wait_for(lambda: "after-1" in by_key(read_all(kafka_bootstrap, topics[1])), 60, "after-1 being cleared")
    blocked = by_key(read_all(kafka_bootstrap, topics[2]))
    assert text(last_header(blocked["after-0"][0].headers(), WATCHLIST_VERSION)) == version2
    status = run_txscreen(
        "lists", "status", "--json", "--bootstrap-servers", kafka_bootstrap, "--watchlist-topic", watch
    )
    assert status.returncode == 0, status.stderr
    report = orjson.loads(status.stdout)
    assert report["current"]["version"] == version2
    assert report["previous"]["version"] == version1
    assert report["changes"]["added"] == ["live-test:e20"]
    assert {s["version"] for s in report["skipped"]} == {manifest3.version, "sha256:" + "e" * 64}
    shown = run_txscreen(
        "lists", "status", "--bootstrap-servers", kafka_bootstrap, "--watchlist-topic", watch
    )
    assert "skipped versions" in shown.stdout
    assert "missing" in shown.stdout

    # 6. the guards: a list losing over 10 %, an empty list, a wrong checksum; nothing is published.
    small = write_list(tmp_path / "small.yaml", count=10)
    done = publish(kafka_bootstrap, watch, small)
    assert done.returncode == 2
    assert "--allow-shrink" in done.stderr
    assert "Traceback" not in done.stderr
    empty = tmp_path / "empty.yaml"
    empty.write_text("format: txscreen-watchlist/v1\nlist_id: live-test\nentities: []\n", encoding="utf-8")
    done = publish(kafka_bootstrap, watch, str(empty), "--allow-shrink")
    assert done.returncode == 2
    assert "non-empty" in done.stderr
    assert "Traceback" not in done.stderr
    done = publish(kafka_bootstrap, watch, v3, "--expect-sha256", "0" * 64)
    assert done.returncode == 2
    assert "not the expected" in done.stderr
    status = run_txscreen(
        "lists", "status", "--json", "--bootstrap-servers", kafka_bootstrap, "--watchlist-topic", watch
    )
    assert orjson.loads(status.stdout)["current"]["version"] == version2
    assert worker.stop() == 0, worker.log()


@pytest.mark.timeout(300)
def test_a_worker_with_no_version_consumes_nothing_until_one_is_published(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    unique_name: Callable[[str], str],
    spawn: Callable[..., Worker],
    tmp_path: Path,
) -> None:
    """Step 8: with an empty watchlist topic the worker waits (nothing consumed or written), then starts."""
    topics = make_topics("payments", "cleared", "blocked", "dlq")
    watch = unique_name("watchlists")
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    ensure_topic(kafka, watch)
    worker = spawn("waiting", *topic_flags(kafka_bootstrap, topics), "--group-id", unique_name("group"),
                   "--watchlist-topic", watch)  # fmt: skip
    send(kafka_bootstrap, topics[0], [(f"w-{n}", event(f"w-{n}", "Plain Trading Ltd")) for n in range(3)])
    wait_for(lambda: "consuming nothing" in worker.log(), 60, "the worker saying it waits")
    time.sleep(3)
    assert worker.alive(), worker.log()
    assert all(read_all(kafka_bootstrap, topic, timeout=5) == [] for topic in topics[1:])
    assert "assigned" not in worker.log()  # it never joined the group
    idle = spawn("stopped", *topic_flags(kafka_bootstrap, topics), "--group-id", unique_name("group"),
                 "--watchlist-topic", watch)  # fmt: skip
    wait_for(lambda: "consuming nothing" in idle.log(), 60, "the second worker saying it waits")
    assert idle.stop() == 0, idle.log()  # SIGTERM while waiting: a clean stop, nothing consumed
    done = publish(kafka_bootstrap, watch, write_list(tmp_path / "v1.yaml"))
    assert done.returncode == 0, done.stderr
    wait_for(
        lambda: len(read_all(kafka_bootstrap, topics[1], timeout=5)) == 3, 90, "the events being cleared"
    )
    assert worker.stop() == 0, worker.log()


def write_bulk_list(path: Path, count: int) -> str:
    """A txscreen list (JSON) of ``count`` made-up companies: a version of many chunks."""
    entities = [
        {"id": f"b{n}", "type": "entity", "names": [f"Bulkmade Holding {n:07d} Limited"]}
        for n in range(count)
    ]
    path.write_bytes(
        orjson.dumps({"format": "txscreen-watchlist/v1", "list_id": "bulk", "entities": entities})
    )
    return str(path)


def streamed_events(count: int) -> list[tuple[bytes, bytes]]:
    """``count`` events with unique keys; every 50th names the counterparty v2 adds."""
    names = ("Plain Trading Ltd", "Harbour Foods GmbH", "Juniper Tools SARL", "Maple Leaf Logistics Inc")
    return [
        (f"s-{n:06d}".encode(), event(f"s-{n:06d}", NEWLY_LISTED if n % 50 == 0 else names[n % len(names)]))
        for n in range(count)
    ]


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_kill_9_during_a_swap_loses_and_repeats_nothing(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    unique_name: Callable[[str], str],
    spawn: Callable[..., Worker],
    tmp_path: Path,
) -> None:
    """Step 7: kill -9 while a new version builds, and again right as one is swapped in: every input is in
    exactly one output (read_committed), and the last events are screened by the last version."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", partitions=PARTITIONS)
    watch = unique_name("watchlists")
    group = unique_name("group")
    bundled = list(DEFAULT_SOURCES)
    v2 = write_list(tmp_path / "v2.yaml", [NEWLY_LISTED])
    v3 = write_list(tmp_path / "v3.yaml", [NEWLY_LISTED, NEVER_LISTED])
    assert publish(kafka_bootstrap, watch, *bundled).returncode == 0
    flags = (*topic_flags(kafka_bootstrap, topics), "--group-id", group, "--watchlist-topic", watch,
             "--instance-id", "w1")  # fmt: skip
    worker = spawn("w-0", *flags)
    wait_for(lambda: "the first version" in worker.log(), 120, "the worker building v1")
    events = streamed_events(40_000)  # 40 s at 1,000 events/s: both kills fall inside the stream
    feeder = Feeder(kafka_bootstrap, topics[0], events, 1_000)
    feeder.start()

    time.sleep(4)
    done = publish(kafka_bootstrap, watch, *bundled, v2)  # kill 1: while v2 is being built
    assert done.returncode == 0, done.stderr
    time.sleep(0.2)
    mid_build = "replaces" not in worker.log()
    worker.kill9()
    worker = spawn("w-1", *flags)
    wait_for(lambda: "the first version" in worker.log(), 120, "the restarted worker building v2")

    time.sleep(2)
    done = publish(kafka_bootstrap, watch, *bundled, v3)  # kill 2: right as v3 is swapped in
    assert done.returncode == 0, done.stderr
    wait_for(lambda: "replaces" in worker.log(), 120, "the worker swapping v3 in")
    worker.kill9()
    worker = spawn("w-2", *flags)
    assert feeder.is_alive(), "the stream ended before the second kill: the kills did not interrupt it"

    feeder.join()
    assert feeder.failed == []
    wait_drained(kafka_bootstrap, group, topics[0], len(events), timeout=180)
    assert worker.stop() == 0, worker.log()
    assert_exactly_once(output_keys(kafka_bootstrap, topics[1:], len(events)), events)
    version3 = watchlist_version(load_watchlists([*bundled, v3]))
    last = {key.decode() for key, _ in events[-2000:] if int(key[2:]) % 50 == 0}
    blocked = by_key(read_all(kafka_bootstrap, topics[2]))
    assert last <= set(blocked)
    assert {text(last_header(blocked[k][0].headers(), WATCHLIST_VERSION)) for k in last} == {version3}
    print(f"first kill during the build of v2: {mid_build}")


@pytest.mark.timeout(300)
def test_the_faust_engine_follows_the_topic_and_swaps_without_restart(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """``run --engine faust --watchlist-topic``: cleared under v1, then blocked under v2, same process."""
    topics = make_topics("payments", "cleared", "blocked", "dlq")
    watch = unique_name("watchlists")
    v1 = write_list(tmp_path / "v1.yaml")
    v2 = write_list(tmp_path / "v2.yaml", [NEWLY_LISTED])
    assert publish(kafka_bootstrap, watch, v1).returncode == 0
    (port,) = free_ports(1)
    command = [sys.executable, "-m", "streams.cli", "run", "--engine", "faust", "--web-port", str(port),
               *topic_flags(kafka_bootstrap, topics), "--group-id", unique_name("group"),
               "--batch-timeout", "0.1", "--watchlist-topic", watch]  # fmt: skip
    engine = Worker(command, tmp_path / "faust.log")
    try:
        send(kafka_bootstrap, topics[0], [("f-early", event("f-early", NEWLY_LISTED))])
        wait_for(lambda: len(read_all(kafka_bootstrap, topics[1], timeout=5)) == 1, 120, "f-early cleared")
        assert publish(kafka_bootstrap, watch, v2).returncode == 0
        version2 = watchlist_version(load_watchlists([v2]))
        sent = 0

        def blocked_under_v2() -> bool:
            nonlocal sent
            send(kafka_bootstrap, topics[0], [(f"f-{sent}", event(f"f-{sent}", NEWLY_LISTED))])
            sent += 1
            return any(
                text(last_header(r.headers(), WATCHLIST_VERSION)) == version2
                for r in read_all(kafka_bootstrap, topics[2], timeout=5)
            )

        wait_for(blocked_under_v2, 90, "the Faust engine blocking under v2")
        assert engine.alive(), engine.log()
        assert engine.stop() == 0, engine.log()
    finally:
        if engine.alive():
            engine.kill9()


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_a_publisher_killed_mid_transaction_leaves_nothing_and_the_next_publish_works(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    unique_name: Callable[[str], str],
    spawn: Callable[..., Worker],
    tmp_path: Path,
) -> None:
    """kill -9 of ``lists publish`` while its chunks are being written: the version is all or nothing (the
    kill may land after the commit was sent), no version is ever skipped as partial, and the next publish
    aborts a transaction left open at once; at least one kill must leave nothing."""
    topics = make_topics("payments", "cleared", "blocked", "dlq")
    watch = unique_name("watchlists")
    v1 = write_list(tmp_path / "v1.yaml")
    assert publish(kafka_bootstrap, watch, v1).returncode == 0
    worker = spawn("follower", *topic_flags(kafka_bootstrap, topics), "--group-id", unique_name("group"),
                   "--watchlist-topic", watch)  # fmt: skip
    wait_for(lambda: "the first version" in worker.log(), 120, "the worker building v1")
    # read_uncommitted: its high watermark moves with records of open transactions (a read_committed
    # consumer's stops at the last stable offset)
    watermarks = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": unique_name("watermarks"),
            "isolation.level": "read_uncommitted",
        }
    )
    partition = TopicPartition(watch, 0)
    outcomes = []
    for attempt in range(3):  # a big version (about 20 MB of chunks), produced slowly (see below)
        bulk = write_bulk_list(tmp_path / f"bulk-{attempt}.json", 150_000 + attempt)
        bulk_version = watchlist_version(load_watchlists([v1, bulk]))
        before = watermarks.get_watermark_offsets(partition, timeout=10, cached=False)[1]
        command = [sys.executable, "-m", "streams.cli", "lists", "publish", v1, bulk, "--allow-shrink",
                   "--bootstrap-servers", kafka_bootstrap, "--watchlist-topic", watch,
                   # one chunk in flight at a time, each waiting 200 ms: a transaction of seconds to kill in
                   "-X", "producer.queue.buffering.max.kbytes=1000", "-X", "producer.linger.ms=200",
                   "-X", "producer.compression.type=none"]  # fmt: skip
        publisher = Worker(command, tmp_path / f"publish-{attempt}.log")
        while publisher.alive():
            if watermarks.get_watermark_offsets(partition, timeout=10, cached=False)[1] > before:
                break  # its first chunks are on the topic: the transaction is open
            time.sleep(0.005)
        assert publisher.alive(), publisher.log()
        publisher.kill9()
        # The next publish aborts a transaction the killed one left open: at once, not after its timeout.
        v2 = write_list(tmp_path / f"v2-{attempt}.yaml", [NEWLY_LISTED, f"Other Party {attempt}"])
        started = time.monotonic()
        done = publish(kafka_bootstrap, watch, v2, "--allow-shrink")
        assert done.returncode == 0, done.stderr
        assert time.monotonic() - started < 60
        version2 = watchlist_version(load_watchlists([v2]))
        wait_for(
            lambda v=version2: f"{v} (published" in worker.log(), 180, "the worker taking the new version"
        )
        status = run_txscreen(
            "lists", "status", "--json", "--bootstrap-servers", kafka_bootstrap, "--watchlist-topic", watch
        )
        report = orjson.loads(status.stdout)
        assert report["current"]["version"] == version2
        assert report["skipped"] == []  # the killed version is whole or absent, never partial
        shown = report["previous"]["version"]
        outcomes.append("committed" if shown == bulk_version else "aborted")
        if outcomes[-1] == "aborted":
            break
    watermarks.close()
    print(f"kill -9 during publish: {outcomes}")
    assert "aborted" in outcomes
    assert "skipped watchlist version" not in worker.log()
    assert worker.stop() == 0, worker.log()


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_rescreen_killed_mid_run_and_run_again_blocks_each_event_exactly_once(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """kill -9 of ``txscreen rescreen`` part-way, then a new run: every event cleared under v1 that v2 lists
    is in the blocked topic exactly once (read_committed), and a third run adds nothing."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", partitions=PARTITIONS)
    watch = unique_name("watchlists")
    v1 = write_list(tmp_path / "v1.yaml")
    v2 = write_list(tmp_path / "v2.yaml", [NEWLY_LISTED])
    version1 = watchlist_version(load_watchlists([v1]))
    assert publish(kafka_bootstrap, watch, v2).returncode == 0
    events = streamed_events(20_000)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all", "linger.ms": 20})
    for key, value in events:  # as a worker under v1 wrote them to the cleared topic
        producer.produce(topics[1], value, key, headers=[(WATCHLIST_VERSION, version1.encode())])
    assert producer.flush(60) == 0
    expected = {key for key, _ in events if int(key[2:]) % 50 == 0}
    group = unique_name("rescreen")
    flags = [
        *topic_flags(kafka_bootstrap, topics),
        "--watchlist-topic",
        watch,
        "--group-id",
        group,
        "--idle",
        "3",
    ]
    command = [sys.executable, "-m", "streams.cli", "rescreen", "--since", "1h", *flags, "--max-batch", "100"]
    first = Worker(command, tmp_path / "rescreen-0.log")
    wait_for(
        lambda: committed_total(kafka_bootstrap, group, topics[1]) > 0 or not first.alive(), 120, "progress"
    )
    assert first.alive(), first.log()
    first.kill9()
    done_before = committed_total(kafka_bootstrap, group, topics[1])
    assert done_before < len(events)
    done = run_txscreen("rescreen", "--since", "1h", *flags)
    assert done.returncode == 0, done.stderr
    assert_exactly_once(
        output_keys(kafka_bootstrap, [topics[2]], len(expected)), [(k, b"") for k in expected]
    )
    again = run_txscreen("rescreen", "--since", "1h", *flags)
    assert again.returncode == 0, again.stderr
    assert output_keys(kafka_bootstrap, [topics[2]], len(expected)).total() == len(expected)
    print(f"rescreen killed after {done_before} of {len(events)} cleared records")
