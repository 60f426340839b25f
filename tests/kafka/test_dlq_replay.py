"""``txscreen dlq replay`` on a real broker: fixes are screened again; reruns and kill -9 repeat nothing."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from schemas.records import encode_dead_letter
from streams.headers import REPLAY_OF, VERDICT, last_header
from tests.cli_runner import run_txscreen
from tests.kafka.test_kafka_worker import event, read_all, topic_flags
from tests.kafka.test_worker_faults import PARTITIONS, Worker, committed_total, output_keys

pytestmark = pytest.mark.kafka

txscreen = run_txscreen

#: A clean event refused for its lower-case currency, fixed by its id.
BAD_CURRENCY = event("fix-clean", "Acme Trading Ltd.", "2020-10-01T10:00:00Z").replace(b'"USD"', b'"usd"')
#: A truncated event naming a listed company (no id can be read), fixed by its source.
TRUNCATED = b'{"id": "fix-hit", "created_at": "2020-10-01T09:00:00Z", "creditor": {"name": "TikTok Pte'
#: Binary garbage: no corrected line, so it is skipped.
BINARY = b"\xff\xfe\x00 binary"


def replay_flags(bootstrap: str, topics: list[str], group: str) -> list[str]:
    return [*topic_flags(bootstrap, topics[:4]), "--replayed-topic", topics[4], "--group-id", group]


def screen(bootstrap: str, topics: list[str], group: str) -> None:
    run = txscreen(
        "run", *topic_flags(bootstrap, topics[:4]), "--group-id", group, "--until-idle", "2",
        "--watchlist", "builtin",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr


def test_replay_with_a_fix_file_is_screened_again_and_a_second_run_replays_nothing(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """Fixed dead letters go back to the input once, recorded; the worker screens them; rerun: none."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", "replayed")
    source, cleared, blocked, dlq, audit = topics
    worker_group, replay_group = unique_name("workers"), unique_name("replay")
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    for key, value in ((b"fix-clean", BAD_CURRENCY), (b"fix-hit", TRUNCATED), (b"binary", BINARY)):
        producer.produce(source, value, key, headers=[("trace", key), ("txscreen-verdict", b"cleared")])
    assert producer.flush(30) == 0
    screen(kafka_bootstrap, topics, worker_group)
    letters = {m.key(): orjson.loads(m.value() or b"") for m in read_all(kafka_bootstrap, dlq)}
    assert set(letters) == {b"fix-clean", b"fix-hit", b"binary"}

    fixed = tmp_path / "fixed.jsonl"
    clean_fix = BAD_CURRENCY.replace(b'"usd"', b'"USD"')
    hit_fix = event("fix-hit", "TikTok Pte. Ltd.", "2020-10-01T09:00:00Z")
    fixed.write_bytes(
        orjson.dumps({"id": "fix-clean", "event": clean_fix.decode()})
        + b"\n"
        + orjson.dumps({"source": letters[b"fix-hit"]["source"], "event": orjson.loads(hit_fix)})
        + b"\n"
    )
    flags = replay_flags(kafka_bootstrap, topics, replay_group)

    dry = txscreen("dlq", "replay", *flags, "--fixed", str(fixed), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    shown = [orjson.loads(line) for line in dry.stdout.splitlines()]
    assert [(line["replay"], line.get("event_id"), line.get("reason")) for line in shown] == [
        (True, "fix-clean", None),
        (True, "fix-hit", None),
        (False, None, "no corrected line"),
    ]
    assert len(read_all(kafka_bootstrap, source)) == 3  # the dry run produced nothing

    replay = txscreen("dlq", "replay", *flags, "--fixed", str(fixed), "--actor", "alice")
    assert replay.returncode == 0, replay.stderr
    assert "dlq replay: replayed 2, skipped 1 (no corrected line: 1)" in replay.stderr
    replayed = read_all(kafka_bootstrap, source)[3:]
    assert [m.key() for m in replayed] == [b"fix-clean", b"fix-hit"]
    for message in replayed:
        assert last_header(message.headers(), VERDICT) is None
        assert last_header(message.headers(), "trace") == message.key()
        assert (
            last_header(message.headers(), REPLAY_OF) == f"{dlq}[0]@{letters_offset(message.key())}".encode()
        )
    records = [orjson.loads(m.value() or b"") for m in read_all(kafka_bootstrap, audit)]
    assert [(r["event_id"], r["fixed"], r["fix"], r["actor"]) for r in records] == [
        ("fix-clean", True, "file", "alice"),
        ("fix-hit", True, "file", "alice"),
    ]
    assert records[1]["source"] == letters[b"fix-hit"]["source"]

    screen(kafka_bootstrap, topics, worker_group)
    cleared_now = {m.key(): m.value() for m in read_all(kafka_bootstrap, cleared)}
    assert cleared_now == {b"fix-clean": clean_fix}
    (blocked_record,) = read_all(kafka_bootstrap, blocked)
    assert blocked_record.key() == b"fix-hit"
    hits = orjson.loads(blocked_record.value() or b"")["hits"]
    assert "us-eo-2020:bytedance" in {hit["entity_id"] for hit in hits}

    again = txscreen("dlq", "replay", *flags, "--fixed", str(fixed))
    assert again.returncode == 0, again.stderr
    assert "dlq replay: replayed 0, skipped 0\n" in again.stderr
    assert len(read_all(kafka_bootstrap, source)) == 5
    assert len(read_all(kafka_bootstrap, audit)) == 2


def letters_offset(key: bytes | None) -> int:
    """The dead-letter offsets of the first test's inputs (produced in this order to one partition)."""
    return {b"fix-clean": 0, b"fix-hit": 1, b"binary": 2}[key or b""]


def test_replay_refuses_to_write_to_an_output_topic(
    kafka_bootstrap: str, make_topics: Callable[..., list[str]]
) -> None:
    """--output-topic naming the cleared topic stops with one sentence and status 2, producing nothing."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", "replayed")
    flags = replay_flags(kafka_bootstrap, topics, "unused")
    refused = txscreen("dlq", "replay", *flags, "--output-topic", topics[1])
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1].startswith("txscreen: error: dlq replay writes to")
    assert "Traceback" not in refused.stderr


def replayed_count(result: str) -> int:
    """N of the summary line ``dlq replay: replayed N, skipped M`` (not of a status line)."""
    found = re.search(r"dlq replay: replayed ([\d,]+), skipped", result)
    assert found, result
    return int(found.group(1).replace(",", ""))


def test_chosen_partitions_offsets_and_max_leave_the_rest_for_a_later_run(
    kafka_bootstrap: str, make_topics: Callable[..., list[str]], unique_name: Callable[[str], str]
) -> None:
    """--partition/--max, then --offset, then everything: 3 + 9 + 8 = each of the 20 dead letters once."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", "replayed", partitions=2)
    source, _cleared, _blocked, dlq, audit = topics
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    for partition in (0, 1):
        for n in range(10):
            raw = f'{{"id": "p{partition}-{n}"'.encode()
            origin = {"topic": source, "partition": partition, "offset": n}
            letter = encode_dead_letter(raw, "not JSON", origin, "2026-11-30T12:00:00.000Z")
            producer.produce(dlq, letter, f"p{partition}-{n}".encode(), partition=partition)
    assert producer.flush(30) == 0
    flags = [*replay_flags(kafka_bootstrap, topics, unique_name("replay")), "--idle", "2"]

    first = txscreen("dlq", "replay", *flags, "--partition", "1", "--max", "3")
    assert first.returncode == 0, first.stderr
    assert replayed_count(first.stderr) == 3
    second = txscreen("dlq", "replay", *flags, "--offset", "..5")
    assert second.returncode == 0, second.stderr
    assert replayed_count(second.stderr) == 9  # p0@0..5 and p1@3..5
    third = txscreen("dlq", "replay", *flags)
    assert third.returncode == 0, third.stderr
    assert replayed_count(third.stderr) == 8  # p0@6..9 and p1@6..9

    keys = sorted(m.key() or b"" for m in read_all(kafka_bootstrap, source))
    assert keys == sorted(f"p{p}-{n}".encode() for p in (0, 1) for n in range(10))
    audited = [orjson.loads(m.value() or b"")["dead_letter"] for m in read_all(kafka_bootstrap, audit)]
    assert sorted((d["partition"], d["offset"]) for d in audited) == [
        (p, n) for p in (0, 1) for n in range(10)
    ]


DEAD_LETTERS = 20_000


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_kill_9_mid_replay_then_a_rerun_replays_and_records_each_dead_letter_once(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """20,000 dead letters, replay killed -9 mid-run and run again: each replayed once, recorded once."""
    topics = make_topics("payments", "cleared", "blocked", "dlq", "replayed", partitions=PARTITIONS)
    source, _cleared, _blocked, dlq, audit = topics
    group = unique_name("replay")
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all", "linger.ms": 20})
    keys = [f"dl-{n:05d}".encode() for n in range(DEAD_LETTERS)]
    for n, key in enumerate(keys):
        raw = event(key.decode(), "Acme Trading Ltd.", "2020-10-01T10:00:00Z").replace(b'"USD"', b'"usd"')
        value = encode_dead_letter(
            raw, "currency must be an ISO 4217 code", {"topic": source, "partition": 0, "offset": n},
            "2026-11-30T12:00:00.000Z",
        )  # fmt: skip
        while True:
            try:
                producer.produce(dlq, value, key, headers=[("txscreen-verdict", b"dead-letter")])
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(60) == 0

    flags = [*replay_flags(kafka_bootstrap, topics, group), "--max-batch", "50", "--status-interval", "0.2"]
    command = [sys.executable, "-m", "streams.cli", "dlq", "replay", *flags]
    first = Worker(command, tmp_path / "replay-0.log")
    deadline = time.monotonic() + 120
    progress = 0  # committed replays, from the replay's own status lines
    while progress < DEAD_LETTERS // 10 and time.monotonic() < deadline:
        assert first.alive(), first.log()
        counts = re.findall(r"status: .*?replayed ([\d,]+)", first.log())
        progress = int(counts[-1].replace(",", "")) if counts else 0
        time.sleep(0.02)
    first.kill9()
    assert 0 < progress < DEAD_LETTERS, progress
    assert "dlq replay: replayed" not in first.log()  # killed before its summary

    second = txscreen("dlq", "replay", *flags, timeout=240)
    assert second.returncode == 0, second.stderr
    assert re.search(r"dlq replay: replayed [\d,]+, skipped 0\n", second.stderr), second.stderr
    rest = replayed_count(second.stderr)
    # The second run did only what the first had not committed: at most what was left at the kill.
    assert 0 < rest <= DEAD_LETTERS - progress, (rest, progress)
    assert committed_total(kafka_bootstrap, group, dlq) == DEAD_LETTERS
    print(f"kill -9 after {progress:,} committed replays (status line); the rerun replayed {rest:,}")

    replayed = output_keys(kafka_bootstrap, [source], DEAD_LETTERS)
    assert set(replayed) == set(keys)
    assert replayed.total() == DEAD_LETTERS, {k: n for k, n in replayed.items() if n > 1}
    recorded = output_keys(kafka_bootstrap, [audit], DEAD_LETTERS)
    assert len(recorded) == DEAD_LETTERS
    assert recorded.total() == DEAD_LETTERS, {k: n for k, n in recorded.items() if n > 1}
    assert all(key.startswith(f"{dlq}[".encode()) for key in recorded)

    third = txscreen("dlq", "replay", *flags)
    assert third.returncode == 0, third.stderr
    assert "dlq replay: replayed 0, skipped 0\n" in third.stderr
