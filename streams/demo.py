"""``make demo`` (``txscreen demo``): the whole pipeline on the local broker, in about a minute.

1. starts the project's own Kafka broker unless one already answers (``txscreen kafka up``);
2. deletes and recreates the demo topics (``demo.payments`` and its three outputs), so every run
   starts empty and shows the same counts;
3. publishes ~2,000 synthetic payments (2 % carrying a listed name, 0.5 % malformed) plus a few
   written by hand: TikTok / 字节跳动 / WeChat payments while the 2020 executive orders were in
   force (blocked), one dated 2020-08-10, before they took effect (cleared), and real SDN and UN
   names (blocked);
4. runs ``txscreen run --until-idle 3`` (exactly-once) until the input is drained;
5. prints the counts per topic and what was blocked and why.

The broker is left running so that the topics can be read afterwards (``txscreen consume``); the
demo says whether it started it and how to stop it (``make kafka-down``). With
``TXSCREEN_BOOTSTRAP_SERVERS`` set, that cluster is used and no local broker is started.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson
from confluent_kafka import Message
from confluent_kafka.admin import AdminClient

from matchers.sources import DEFAULT_SOURCES, load_watchlists
from schemas.records import Verdict, decode_blocked, decode_dead_letter
from streams.cli.broker import config_from_args
from streams.kafka.clients import admin_config
from streams.kafka.publisher import publish
from streams.kafka.reader import read_topic
from streams.kafka.topics import create_topics, delete_topics
from streams.loadgen.synthetic import EventFactory
from streams.localbroker.broker import LocalBroker
from streams.settings import KafkaSettings, Topics

TOPICS = Topics(
    input="demo.payments",
    cleared="demo.payments.cleared",
    blocked="demo.payments.blocked",
    dlq="demo.payments.dlq",
)
PARTITIONS = 3
SYNTHETIC = 2000
#: Log lines of the worker worth showing (its per-event lines are summarised at the end instead).
_SHOWN = ("status:", "started", "processed", "error", "no input")


def _event(event_id: str, created_at: str, creditor: str, remittance: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "created_at": created_at,
        "amount": "1250.00",
        "currency": "USD",
        "debtor": {"name": "Jane Doe", "country": "US", "agent": {"bic": "CHASUS33XXX"}},
        "creditor": {"name": creditor},
        "remittance": remittance,
    }


#: Hand-written payments: (event, the verdict the policy must give, why).
HAND_WRITTEN: tuple[tuple[dict[str, Any], Verdict, str], ...] = (
    (
        _event("demo-tiktok-2020-10", "2020-10-15T09:30:00Z", "TikTok Pte. Ltd.", "Ad campaign Q4"),
        Verdict.BLOCKED,
        "TikTok while EO 13942 was in force",
    ),
    (
        _event(
            "demo-bytedance-cjk", "2021-03-01T10:00:00+08:00", "Shenzhen Ads Co.", "广告费 字节跳动 2021年3月"
        ),
        Verdict.BLOCKED,
        "字节跳动 (ByteDance) in the remittance text",
    ),
    (
        _event("demo-wechat-2021-06", "2021-06-08T23:00:00Z", "Li Wei", "WeChat Pay top-up"),
        Verdict.BLOCKED,
        "WeChat the day before EO 14034 revoked the order",
    ),
    (
        _event("demo-tiktok-2020-08", "2020-08-10T09:30:00Z", "TikTok Pte. Ltd.", "Ad campaign Q3"),
        Verdict.CLEARED,
        "TikTok before EO 13942 took effect (2020-09-20)",
    ),
    (
        _event("demo-sdn-bank", "2021-02-02T12:00:00Z", "Banco Nacional de Cuba", "Trade finance"),
        Verdict.BLOCKED,
        "an OFAC SDN entity",
    ),
    (
        _event(
            "demo-un-person", "2021-02-03T12:00:00Z", "Northwind Trading Ltd.", "Consulting fee, Eric Badege"
        ),
        Verdict.BLOCKED,
        "a UN-listed individual in the remittance text",
    ),
)


def sample_lines() -> list[bytes]:
    """The demo's JSON Lines: synthetic payments, then the hand-written ones."""
    factory = EventFactory(load_watchlists(DEFAULT_SOURCES), listed_share=0.02, malformed_share=0.005)
    lines = list(factory.stream(SYNTHETIC))
    lines += [orjson.dumps(event) for event, _, _ in HAND_WRITTEN]
    return lines


def ensure_broker(environ: Mapping[str, str]) -> tuple[str, str]:
    """The bootstrap servers and a sentence about the broker (started now, already running, or external)."""
    external = environ.get("TXSCREEN_BOOTSTRAP_SERVERS", "").strip()
    if external:
        return external, f"using the cluster at {external} (TXSCREEN_BOOTSTRAP_SERVERS)"
    location = argparse.Namespace(
        host="127.0.0.1", port=None, controller_port=None, state_dir=None, cache_dir=None
    )
    broker = LocalBroker(config_from_args(location, environ), progress=lambda m: print(f"  {m}", flush=True))
    was_running = broker.is_running()
    address = broker.start()
    if was_running:
        return address, f"the local broker at {address} was already running; it stays up"
    return address, f"started the local broker at {address}; it stays up: stop it with `{stop_hint(environ)}`"


def stop_hint(environ: Mapping[str, str]) -> str:
    """``make kafka-down``, with the TXSCREEN_KAFKA_* variables that chose the broker this demo started."""
    chosen = [
        f"{name}={environ[name].strip()}"
        for name in ("TXSCREEN_KAFKA_PORT", "TXSCREEN_KAFKA_STATE")
        if environ.get(name, "").strip()
    ]
    return " ".join([*chosen, "make kafka-down"])


def run_worker(bootstrap: str, group: str) -> int:
    """``txscreen run`` until the input is drained, showing its status lines."""
    command = [
        sys.executable, "-m", "streams.cli", "run", "--bootstrap-servers", bootstrap,
        "--input-topic", TOPICS.input, "--cleared-topic", TOPICS.cleared, "--blocked-topic", TOPICS.blocked,
        "--dlq-topic", TOPICS.dlq, "--group-id", group, "--until-idle", "3", "--status-interval", "2",
    ]  # fmt: skip
    print(f"$ txscreen run --input-topic {TOPICS.input} … --until-idle 3", flush=True)
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as worker:
        assert worker.stderr is not None
        for line in worker.stderr:
            if any(marker in line for marker in _SHOWN) or line.startswith(
                ("txscreen:", "us-eo", "ofac", "un:")
            ):
                print(f"  {line.rstrip()}", flush=True)
        return worker.wait()


def records(kafka: KafkaSettings, topic: str) -> Iterator[Message]:
    yield from read_topic(kafka, topic, timeout=15.0)


def describe_blocked(messages: Sequence[Message], limit: int = 9) -> list[str]:
    """Lines about blocked records: the hand-written ones first, then a few synthetic ones."""
    lines: list[str] = []
    ordered = sorted(
        messages, key=lambda m: (not (m.key() or b"").startswith(b"demo-"), m.partition(), m.offset())
    )
    for message in ordered[:limit]:
        record = decode_blocked(message.value())  # type: ignore[arg-type]
        event = record.event
        lines.append(f"  {event.get('id')} ({str(event.get('created_at'))[:10]}):")
        for hit in record.hits[:2]:
            lines.append(
                f"    {hit.entity_id} {hit.entity_name!r} [{', '.join(hit.programs)}] — "
                f"{hit.matched_text!r} in {hit.field}, rule {hit.rule}"
            )
    return lines


def run_demo(environ: Mapping[str, str]) -> int:
    """Run the demo with the ``TXSCREEN_*`` variables in ``environ``; 0 when every hand-written payment
    got the verdict it should."""
    print("1. Kafka", flush=True)
    bootstrap, broker_note = ensure_broker(environ)
    print(f"  {broker_note}")
    kafka = KafkaSettings(bootstrap_servers=bootstrap, topics=TOPICS)
    admin = AdminClient(admin_config(kafka))
    delete_topics(admin, TOPICS.all)
    create_topics(admin, TOPICS.all, partitions=PARTITIONS)
    print(f"  topics {', '.join(TOPICS.all)} ({PARTITIONS} partitions each), recreated empty")

    print("2. Publishing payments", flush=True)
    lines = sample_lines()
    published = publish(lines, TOPICS.input, kafka)
    print(
        f"  {published.sent:,} payments to {TOPICS.input}: {SYNTHETIC:,} synthetic (2 % with a listed name, "
        f"0.5 % malformed) and {len(HAND_WRITTEN)} written by hand"
    )

    print("3. Screening", flush=True)
    group = f"demo-{uuid.uuid4().hex[:8]}"
    status = run_worker(bootstrap, group)
    admin.delete_consumer_groups([group])
    if status != 0:
        print(f"  the worker exited with status {status}")
        return status

    print("4. Results (read read_committed from the output topics)", flush=True)
    outputs = {topic: list(records(kafka, topic)) for topic in TOPICS.outputs}
    for topic, messages in outputs.items():
        print(f"  {topic:<24} {len(messages):>6,} records")
    blocked = outputs[TOPICS.blocked]
    by_list: Counter[str] = Counter()
    for message in blocked:
        by_list.update({hit.list_id for hit in decode_blocked(message.value()).hits})  # type: ignore[arg-type]
    print("  blocked payments per list: " + ", ".join(f"{name} {n}" for name, n in by_list.most_common()))
    print("  what was blocked and why (entity, matched text, field, rule):")
    print("\n".join(describe_blocked(blocked)))
    dead = outputs[TOPICS.dlq]
    reasons = Counter(decode_dead_letter(m.value()).error for m in dead)  # type: ignore[arg-type]
    print("  dead letters: " + "; ".join(f"{n} × {reason}" for reason, n in reasons.most_common(3)))

    verdict_of = {m.key(): topic for topic, messages in outputs.items() for m in messages}
    topic_of = TOPICS.by_verdict()
    failures = 0
    print("  hand-written payments:")
    for event, expected, why in HAND_WRITTEN:
        got = verdict_of.get(event["id"].encode())
        ok = got == topic_of[expected]
        failures += not ok
        print(f"    {'ok ' if ok else 'BAD'} {event['id']:<22} {expected:<8} {why}")
    print(f"\nLook around: .venv/bin/txscreen consume {TOPICS.blocked} --bootstrap-servers {bootstrap}")
    print(f"{broker_note[0].upper()}{broker_note[1:]}.")
    return 1 if failures else 0
