"""The screening worker on a real broker: routing, records and headers, fail-closed start, the CLI."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from schemas.records import decode_blocked, decode_dead_letter
from streams.headers import SCREENED_AT, VERDICT, WATCHLIST_VERSION, last_header
from streams.loadgen.synthetic import EventFactory
from tests.cli_runner import run_txscreen

pytestmark = pytest.mark.kafka

REPO = Path(__file__).resolve().parents[2]
BROKEN_TXSCREEN_LIST = REPO / "tests" / "data" / "txscreen_list" / "bad-syntax.yaml"
#: Real rows of the OFAC SDN snapshot (tests/data/README.md): few names, so synthetic clean events stay clean.
SDN_EXTRACT = REPO / "tests" / "data" / "ofac" / "extract"


txscreen = run_txscreen


def topic_flags(bootstrap: str, topics: list[str]) -> list[str]:
    source, cleared, blocked, dlq = topics
    return [
        "--bootstrap-servers", bootstrap, "--input-topic", source, "--cleared-topic", cleared,
        "--blocked-topic", blocked, "--dlq-topic", dlq,
    ]  # fmt: skip


def read_all(bootstrap: str, topic: str, timeout: float = 30.0) -> list[Message]:
    """Every committed record of ``topic`` (read_committed, from the start, to the end of each partition)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{topic}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    records: list[Message] = []
    at_end: set[int] = set()
    deadline = time.monotonic() + timeout
    try:
        while len(at_end) < len(partitions) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    at_end.add(message.partition() or 0)
                continue
            at_end.discard(message.partition() or 0)
            records.append(message)
    finally:
        consumer.close()
    assert len(at_end) == len(partitions), f"{topic} was not read to its end within {timeout} s"
    return records


def event(event_id: str, creditor: str, created_at: str, remittance: str | None = None) -> bytes:
    body: dict[str, object] = {
        "id": event_id,
        "created_at": created_at,
        "amount": "125.50",
        "currency": "USD",
        "debtor": {"name": "Jane Doe", "country": "US"},
        "creditor": {"name": creditor},
        "x-unknown-field": [1, 2.50, "kept as is"],
    }
    if remittance is not None:
        body["remittance"] = remittance
    return orjson.dumps(body)


#: Inputs that must be blocked, with the entity that blocks each.
HITS = {
    b"hit-tiktok": (event("hit-tiktok", "TikTok Pte. Ltd.", "2020-10-01T09:00:00Z"), "us-eo-2020:bytedance"),
    b"hit-bytedance-cjk": (
        event("hit-bytedance-cjk", "Shenzhen Ads Co.", "2021-01-15T12:00:00+08:00", "广告费 字节跳动 2021"),
        "us-eo-2020:bytedance",
    ),
    b"hit-wechat": (
        event("hit-wechat", "Li Wei", "2021-06-08T23:59:00Z", "WeChat Pay top-up"),
        "us-eo-2020:tencent",
    ),
    b"hit-sdn": (event("hit-sdn", "Banco Nacional de Cuba", "2020-10-01T09:00:00Z"), "ofac-sdn:306"),
}
#: Inputs that name a listed entity outside its dates: cleared.
NEAR_MISSES = {
    b"before-eo": event("before-eo", "TikTok Pte. Ltd.", "2020-08-10T09:00:00Z"),
    b"after-revocation": event("after-revocation", "Li Wei", "2021-06-09T00:00:00Z", "WeChat Pay"),
}
#: Inputs that are not payment events: dead letters.
MALFORMED = {
    b"bad-json": b'{"id": "bad-json", "created_at": "2020-10-01T10:00:00Z", "amount": ',
    b"bad-binary": b"\xff\xfe\x00 binary",
    b"bad-currency": event("bad-currency", "Acme", "2020-10-01T10:00:00Z").replace(b'"USD"', b'"usd"'),
}


def test_mixed_input_is_routed_with_records_and_headers(
    kafka_bootstrap: str, make_topics: Callable[..., list[str]], group_id: str
) -> None:
    """Clean, listed (built-in, SDN) and malformed inputs each land once in the right topic, as specified."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", partitions=3)
    source = topics[0]
    factory = EventFactory(seed=7, listed_share=0.0)
    clean = {f"clean-{n}".encode(): factory.raw() for n in range(200)}
    inputs: dict[bytes, bytes] = {**clean, **NEAR_MISSES, **{k: v for k, (v, _) in HITS.items()}, **MALFORMED}
    origin: dict[bytes, tuple[int, int]] = {}

    def delivered(error: KafkaError | None, message: Message) -> None:
        assert error is None
        origin[message.key() or b""] = (message.partition() or 0, message.offset() or 0)  # type: ignore[assignment]

    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    for key, value in inputs.items():
        producer.produce(
            source, value, key, headers=[("origin", b"test"), ("trace-id", key)], on_delivery=delivered
        )
    assert producer.flush(30) == 0

    run = txscreen(
        "run", *topic_flags(kafka_bootstrap, topics), "--group-id", group_id, "--until-idle", "3",
        "--status-interval", "1", "--watchlist", "builtin", "--watchlist", str(SDN_EXTRACT),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "processed 209 events" in run.stderr
    assert "status: " in run.stderr

    cleared = {m.key(): m for m in read_all(kafka_bootstrap, topics[1])}
    blocked = {m.key(): m for m in read_all(kafka_bootstrap, topics[2])}
    dead = {m.key(): m for m in read_all(kafka_bootstrap, topics[3])}
    assert set(cleared) == set(clean) | set(NEAR_MISSES)
    assert set(blocked) == set(HITS)
    assert set(dead) == set(MALFORMED)

    versions = set()
    for key, message in [*cleared.items(), *blocked.items(), *dead.items()]:
        headers = message.headers()
        assert headers is not None
        assert list(headers[:2]) == [("origin", b"test"), ("trace-id", key)]
        versions.add(last_header(headers, WATCHLIST_VERSION))
        assert last_header(headers, SCREENED_AT)
    assert len(versions) == 1
    for key, message in cleared.items():
        assert message.value() == inputs[key]  # type: ignore[index]
        assert last_header(message.headers(), VERDICT) == b"cleared"  # type: ignore[arg-type]
    for key, message in blocked.items():
        record = decode_blocked(message.value())  # type: ignore[arg-type]
        assert last_header(message.headers(), VERDICT) == b"blocked"  # type: ignore[arg-type]
        assert orjson.loads(inputs[key]) == record.event  # type: ignore[index]
        assert HITS[key][1] in {hit.entity_id for hit in record.hits}  # type: ignore[index]
        assert all(hit.matched_text and hit.field and hit.rule for hit in record.hits)
        assert record.watchlist_version.encode() in versions
        partition, offset = origin[key]  # type: ignore[index]
        assert record.source == {"topic": source, "partition": partition, "offset": offset}
        assert record.hits_total == len(record.hits)
    for key, message in dead.items():
        letter = decode_dead_letter(message.value())  # type: ignore[arg-type]
        assert last_header(message.headers(), VERDICT) == b"dead-letter"  # type: ignore[arg-type]
        partition, offset = origin[key]  # type: ignore[index]
        assert letter.source == {"topic": source, "partition": partition, "offset": offset}
        assert letter.error
    assert decode_dead_letter(dead[b"bad-binary"].value()).raw_encoding == "base64"  # type: ignore[arg-type]


@pytest.mark.parametrize("watchlist", ["/nonexistent/list.yaml", str(BROKEN_TXSCREEN_LIST)])
def test_a_watchlist_that_does_not_load_consumes_nothing(
    kafka_bootstrap: str,
    kafka_admin: AdminClient,
    make_topics: Callable[..., list[str]],
    group_id: str,
    watchlist: str,
) -> None:
    """Fail closed: exit 2 with one sentence, no committed offsets for the group, no output record."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", partitions=2)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for value in EventFactory(seed=1).stream(20):
        producer.produce(topics[0], value)
    assert producer.flush(30) == 0

    run = txscreen(
        "run", *topic_flags(kafka_bootstrap, topics), "--group-id", group_id, "--watchlist", watchlist
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1].startswith("txscreen: error:")
    assert "Traceback" not in run.stderr

    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": group_id})
    try:
        committed = consumer.committed([TopicPartition(topics[0], p) for p in range(2)], timeout=30)
        assert all(tp.offset < 0 for tp in committed)
        for topic in topics[1:]:
            for partition in range(2):
                _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                assert high == 0
    finally:
        consumer.close()
    groups = {g.group_id for g in kafka_admin.list_consumer_groups().result(timeout=30).valid}
    assert group_id not in groups


def test_cli_creates_topics_produces_a_file_and_prints_records(
    kafka_bootstrap: str, kafka_admin: AdminClient, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    """topics create (idempotent), produce FILE keyed by id, run, consume: a shell session end to end."""
    base = unique_name("cli")
    topics = [base, f"{base}.cleared", f"{base}.blocked", f"{base}.dlq"]
    review = [f"{base}.decisions", f"{base}.confirmed", f"{base}.allowlist"]
    flags = [
        *topic_flags(kafka_bootstrap, topics),
        *("--decisions-topic", review[0], "--confirmed-topic", review[1], "--allowlist-topic", review[2]),
    ]
    try:
        created = txscreen("topics", "create", "--partitions", "2", *flags)
        assert created.returncode == 0, created.stderr
        assert created.stdout.count("created") == 8  # the four, the replay audit topic and the review topics
        assert f"{base}.dlq.replayed: created" in created.stdout
        described = kafka_admin.describe_configs(
            [ConfigResource(ConfigResource.Type.TOPIC, name) for name in (review[0], review[2])]
        )
        configs = {resource.name: future.result() for resource, future in described.items()}
        assert configs[review[0]]["retention.ms"].value == "-1"
        assert configs[review[2]]["cleanup.policy"].value == "compact"
        again = txscreen("topics", "create", "--partitions", "2", *flags)
        assert again.returncode == 0, again.stderr
        assert again.stdout.count("exists (2 partitions)") == 8
        other = txscreen("topics", "create", "--partitions", "3", *flags)
        assert other.returncode == 0, other.stderr
        kept = f"{base}: exists (2 partitions, not 3: partitions are not changed)"
        assert kept in other.stdout.splitlines()

        lines = [
            HITS[b"hit-tiktok"][0],
            NEAR_MISSES[b"before-eo"],
            b"not json",
            b"",
            EventFactory(seed=3).raw(),
        ]
        file = tmp_path / "events.jsonl"
        file.write_bytes(b"\n".join(lines) + b"\n")
        produced = txscreen("produce", str(file), *flags)
        assert produced.returncode == 0, produced.stderr
        assert "produced 4 events" in produced.stderr
        assert "(1 without an id key)" in produced.stderr

        run = txscreen(
            "run", *flags, "--group-id", unique_name("group"), "--watchlist", "builtin", "--max-events", "4"
        )
        assert run.returncode == 0, run.stderr

        shown = txscreen("consume", f"{base}.blocked", *flags)
        assert shown.returncode == 0, shown.stderr
        (line,) = shown.stdout.splitlines()
        record = orjson.loads(line)
        assert record["key"] == "hit-tiktok"
        assert ["txscreen-verdict", "blocked"] in record["headers"]
        assert record["value"]["hits"][0]["entity_id"] == "us-eo-2020:bytedance"
        limited = txscreen("consume", f"{base}.cleared", "--max", "1", *flags)
        assert len(limited.stdout.splitlines()) == 1
        dlq = txscreen("consume", f"{base}.dlq", *flags)
        assert orjson.loads(dlq.stdout)["key"] is None
    finally:
        deleted = txscreen("topics", "delete", "--yes", *flags)
        assert deleted.returncode == 0, deleted.stderr
    assert not {*topics, *review, f"{base}.dlq.replayed"} & set(kafka_admin.list_topics(timeout=10).topics)


def test_run_stops_with_a_clear_error_when_a_topic_is_missing(
    kafka_bootstrap: str, make_topics: Callable[..., list[str]], unique_name: Callable[[str], str]
) -> None:
    """A missing output topic stops the worker before it consumes, naming the topic."""
    source, cleared, blocked = make_topics("payments", "cleared", "blocked")
    missing = unique_name("missing")
    run = txscreen(
        "run", *topic_flags(kafka_bootstrap, [source, cleared, blocked, missing]), "--watchlist", "builtin"
    )
    assert run.returncode == 2
    assert f"topic {missing} does not exist" in run.stderr
