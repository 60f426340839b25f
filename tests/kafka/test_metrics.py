"""A running worker's /metrics equal what its output topics hold; /healthz and /readyz answer."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from matchers.sources import load_watchlists
from schemas.records import decode_blocked, decode_dead_letter
from streams.headers import WATCHLIST_VERSION, last_header
from streams.loadgen.synthetic import EventFactory
from streams.localbroker.broker import free_ports
from streams.metrics.observer import FRESH_LAG_AFTER, LAG_INTERVAL
from streams.metrics.reasons import reason_class
from tests.kafka.test_kafka_worker import HITS, MALFORMED, NEAR_MISSES, SDN_EXTRACT, read_all, topic_flags

pytestmark = pytest.mark.kafka

REPO = Path(__file__).resolve().parents[2]
PARTITIONS = 3

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    """Every sample of a /metrics page, by name and sorted labels."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:  # noqa: S310 (http URL of the test)
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def get(url: str) -> tuple[int, str]:
    """Status and body of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http URL of the test)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def by_label(samples: Samples, name: str, *labels: str) -> dict[tuple[str, ...], float]:
    """The samples of one metric, keyed by the values of ``labels``."""
    return {
        tuple(dict(key)[label] for label in labels): value for (n, key), value in samples.items() if n == name
    }


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], str]]]:
    """``worker(*flags)``: a ``txscreen run`` subprocess with --metrics-listen; stopped after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*flags: str) -> tuple[subprocess.Popen[bytes], str]:
        (port,) = free_ports(1)
        log = (tmp_path / f"worker-{len(started)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "run", "--metrics-listen", f"127.0.0.1:{port}", *flags],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        started.append(process)
        return process, f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` until it holds (fails the test after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.3)
    pytest.fail(f"{what} within {timeout} s")


@pytest.mark.parametrize("engine", ["kafka", "faust"])
def test_worker_metrics_equal_what_the_topics_hold(
    engine: str,
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    group_id: str,
    worker: Callable[..., tuple[subprocess.Popen[bytes], str]],
) -> None:
    """Counters by verdict, dead-letter reason and hit equal the committed outputs; idle lag reads 0, from
    the fetches' cached ends and, once the worker has been idle a while, from the broker's."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", partitions=PARTITIONS)
    factory = EventFactory(seed=11, listed_share=0.0)
    inputs = {
        **{f"clean-{n}".encode(): factory.raw() for n in range(150)},
        **NEAR_MISSES,
        **{key: value for key, (value, _) in HITS.items()},
        **MALFORMED,
    }
    # Transactional input: every partition ends with a commit marker, which must not read as lag.
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "transactional.id": f"{group_id}-input"})
    producer.init_transactions(30)
    producer.begin_transaction()
    for key, value in inputs.items():
        producer.produce(topics[0], value, key)
    producer.commit_transaction(30)

    engine_flags = ["--engine", engine]
    if engine == "faust":
        engine_flags += ["--web-port", str(free_ports(1)[0])]
    process, url = worker(
        *topic_flags(kafka_bootstrap, topics), "--group-id", group_id, "--status-interval", "0",
        "--watchlist", "builtin", "--watchlist", str(SDN_EXTRACT), *engine_flags,
    )  # fmt: skip
    wait_for(lambda: get(f"{url}/healthz")[0] == 200, 60, "/healthz did not answer")

    def all_counted() -> bool:
        events = by_label(scrape(url), "txscreen_events_total", "verdict")
        return sum(events.values()) == len(inputs)

    wait_for(all_counted, 90, "the worker did not count every input")
    status, body = get(f"{url}/readyz")
    assert status == 200, body
    assert "partitions assigned" in body

    cleared, blocked, dlq = (read_all(kafka_bootstrap, topic) for topic in topics[1:])
    time.sleep(1.5)  # one more lag reading after the last batch
    samples = scrape(url)
    events = by_label(samples, "txscreen_events_total", "verdict")
    expected = {("cleared",): len(cleared), ("blocked",): len(blocked), ("dead-letter",): len(dlq)}
    assert events == {**expected, ("allowlisted",): 0}  # no allowlist entry in this test

    reasons = Counter(reason_class(decode_dead_letter(m.value()).error) for m in dlq)
    dead_letters = {
        k[0]: v for k, v in by_label(samples, "txscreen_dead_letters_total", "reason").items() if v
    }
    assert dead_letters == dict(reasons)

    hits = Counter((h.list_id, h.rule) for m in blocked for h in decode_blocked(m.value()).hits)
    assert by_label(samples, "txscreen_hits_total", "list", "rule") == dict(hits)

    transactions = by_label(samples, "txscreen_transactions_total", "outcome")
    batches = samples[("txscreen_batch_seconds_count", ())]
    if engine == "kafka":  # exactly-once: one transaction per committed batch
        assert transactions == {("committed",): batches, ("aborted",): 0}
    else:  # at-least-once: no transactions
        assert set(transactions.values()) == {0}
    assert batches >= 1
    assert samples[("txscreen_screen_seconds_count", ())] >= batches

    lag = by_label(samples, "txscreen_consumer_lag", "topic", "partition")
    assert lag == {(topics[0], str(p)): 0 for p in range(PARTITIONS)}
    if engine == "kafka":  # idle past FRESH_LAG_AFTER: the lag is asked of the broker, and still reads 0
        time.sleep(FRESH_LAG_AFTER + LAG_INTERVAL + 0.5)
        idle = by_label(scrape(url), "txscreen_consumer_lag", "topic", "partition")
        assert idle == {(topics[0], str(p)): 0 for p in range(PARTITIONS)}

    version = last_header(cleared[0].headers(), WATCHLIST_VERSION)
    assert isinstance(version, bytes)
    assert by_label(samples, "txscreen_watchlist_info", "version") == {(version.decode(),): 1}
    loaded = load_watchlists(("builtin", str(SDN_EXTRACT)))
    entities = by_label(samples, "txscreen_watchlist_entities", "list")
    assert entities == {(wl.list_id,): len(wl.entities) for wl in loaded}
    assert abs(samples[("txscreen_watchlist_loaded_timestamp_seconds", ())] - time.time()) < 600
    assert samples[("process_resident_memory_bytes", ())] > 0

    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0


def test_worker_is_not_ready_when_its_lists_do_not_load(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    group_id: str,
    worker: Callable[..., tuple[subprocess.Popen[bytes], str]],
) -> None:
    """A list that does not load stops the worker with status 2 and /readyz never says ready."""
    topics = make_topics("payments", "cleared", "blocked", "dlq")
    broken = REPO / "tests" / "data" / "txscreen_list" / "bad-syntax.yaml"
    process, url = worker(
        *topic_flags(kafka_bootstrap, topics), "--group-id", group_id, "--watchlist", str(broken)
    )
    answers: list[int] = []
    while process.poll() is None:
        with contextlib.suppress(OSError, urllib.error.URLError):
            answers.append(get(f"{url}/readyz")[0])
        time.sleep(0.05)
    assert process.returncode == 2
    assert 200 not in answers
