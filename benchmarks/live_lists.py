"""Live lists: the delay from publish to the first event screened with the new version, and the stall.

Two measurements (``python -m benchmarks.live_lists [--quick] [--bootstrap-servers HOST:PORT]``):

* **stall** (no broker): the main thread runs a light loop (a 1 ms sleep per iteration, standing in
  for the worker's consume loop) while a thread builds a new version exactly as the follower does
  (:func:`streams.watchlists.follower.build_automaton`: decode the chunks, check the hashes, build the
  automaton). The stall is how much longer than 1 ms an iteration takes: p50/p99/max with a build
  running, against the same loop without one, in the same process (the GIL is what a thread's build
  takes from the loop). The swap itself is one reference assignment.
* **delay** (a broker): a ``txscreen run --watchlist-topic`` worker screens a trickle of events (one
  every 50 ms) naming a counterparty; a new version that lists it is written in one transaction; the
  delay runs from that commit to the arrival of the first blocked record carrying the new version
  (so it includes the worker's fetch, decode, build and the batch that screened it). With the bundled
  lists (target ≤ 5 s) and with a synthetic list of 1M names on top (target ≤ 90 s; 200k in --quick).

Results: ``benchmarks/results/live_lists.json`` and ``live_lists.md`` (``results/quick/`` with --quick).
Timings on a shared 2-core machine are noisy: read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import OFFSET_END, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from benchmarks.broker_session import bench_broker
from benchmarks.core import RESULTS, machine
from benchmarks.synthetic_lists import synthetic_watchlist
from matchers.sources import DEFAULT_SOURCES, load_watchlists
from matchers.watchlist import Entity, EntityType, ListedName, Watchlist, watchlist_version
from schemas.records import timestamp
from streams.headers import WATCHLIST_VERSION, last_header
from streams.settings import KafkaSettings
from streams.watchlists.codec import ListInfo, Manifest, chunks_of
from streams.watchlists.follower import build_automaton
from streams.watchlists.publish import ensure_topic, write_version
from streams.watchlists.topic import Candidate

REPO = Path(__file__).resolve().parents[1]
TARGET = "Quorvane Maritime Holdings"


def manifest_of(lists: Sequence[Watchlist]) -> Manifest:
    """A manifest for lists made in memory (no source files: no sha256 or date)."""
    version = watchlist_version(lists)
    infos = [
        ListInfo(
            list_id=wl.list_id,
            source=wl.source,
            source_date=None,
            sha256="",
            entities=len(wl.entities),
            names=wl.name_count,
            content_hash=wl.content_hash,
            description=wl.description,
            chunks=sum(1 for _ in chunks_of(version, wl)),
        )
        for wl in lists
    ]
    return Manifest(version=version, published_at=timestamp(), publisher="benchmark", lists=infos)


def with_target(lists: Sequence[Watchlist]) -> list[Watchlist]:
    """``lists`` plus a one-entity list naming :data:`TARGET`."""
    entity = Entity("bench-new:target", "bench-new", EntityType.ENTITY, (ListedName(TARGET),))
    return [*lists, Watchlist.build("bench-new", "benchmark", [entity])]


def candidate_of(lists: Sequence[Watchlist]) -> Candidate:
    manifest = manifest_of(lists)
    chunks = dict(kv for wl in lists for kv in chunks_of(manifest.version, wl))
    return Candidate(manifest, chunks, 0)


def tick_gaps(seconds: float, stop: threading.Event | None = None) -> list[float]:
    """Extra ms per iteration of a loop sleeping 1 ms, for ``seconds`` or until ``stop``."""
    gaps = []
    end = time.perf_counter() + seconds
    last = time.perf_counter()
    while time.perf_counter() < end and not (stop is not None and stop.is_set()):
        time.sleep(0.001)
        now = time.perf_counter()
        gaps.append(max(0.0, (now - last - 0.001) * 1000))
        last = now
    return gaps


def summary(gaps: Sequence[float]) -> dict[str, float]:
    ordered = sorted(gaps)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 3),
        "max_ms": round(ordered[-1], 3),
        "iterations": len(ordered),
    }


def measure_stall(lists: Sequence[Watchlist]) -> dict[str, Any]:
    """The loop's extra time per iteration while a thread builds ``lists`` + one entity, and without."""
    candidate = candidate_of(with_target(lists))
    baseline = tick_gaps(3.0)
    done = threading.Event()
    built: dict[str, float] = {}

    def build() -> None:
        started = time.perf_counter()
        automaton = build_automaton(candidate)
        built["seconds"] = time.perf_counter() - started
        built["automaton_build_seconds"] = automaton.build_seconds
        done.set()

    builder = threading.Thread(target=build)
    builder.start()
    during = tick_gaps(600.0, done)
    builder.join()
    return {
        "names": sum(wl.name_count for wl in lists),
        "build_seconds": round(built["seconds"], 3),
        "baseline": summary(baseline),
        "during_build": summary(during),
    }


def event(n: int) -> bytes:
    return orjson.dumps(
        {
            "id": f"live-{n}",
            "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "amount": "10.00",
            "currency": "EUR",
            "debtor": {"name": "Jane Doe"},
            "creditor": {"name": TARGET},
        }
    )


def start_worker(
    bootstrap: str,
    topics: Sequence[str],
    watch: str,
    group: str,
    log_path: Path,
    *,
    flags: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """A ``txscreen run --watchlist-topic`` worker (with ``flags``), once it built its first version."""
    command = [
        sys.executable, "-m", "streams.cli", "run", "--bootstrap-servers", bootstrap,
        "--input-topic", topics[0], "--cleared-topic", topics[1], "--blocked-topic", topics[2],
        "--dlq-topic", topics[3], "--group-id", group, "--watchlist-topic", watch,
        "--batch-timeout", "0.05", "--status-interval", "0", *flags,
    ]  # fmt: skip
    with log_path.open("wb") as log:
        worker = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    deadline = time.monotonic() + 900
    while "the first version" not in log_path.read_text(errors="replace"):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            raise RuntimeError(f"the worker did not start: {log_path.read_text(errors='replace')[-2000:]}")
        time.sleep(0.5)
    return worker


def trickle(bootstrap: str, topic: str, stop: threading.Event) -> None:
    """One event naming TARGET every 50 ms until ``stop``."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    n = 0
    while not stop.is_set():
        producer.produce(topic, event(n), f"live-{n}".encode())
        producer.poll(0)
        n += 1
        time.sleep(0.05)
    producer.flush(10)


def first_blocked_under(reader: Consumer, version: str, timeout: float = 900.0) -> float | None:
    """Seconds until the reader sees a blocked record stamped ``version`` (None after ``timeout``)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        message = reader.poll(0.2)
        if message is None or message.error() is not None:
            continue
        headers = message.headers() or []
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers)
        stamped = last_header(pairs, WATCHLIST_VERSION)
        if stamped in (version, version.encode()):
            return time.monotonic() - started
    return None


def measure_delay(
    bootstrap: str, base: Sequence[Watchlist], label: str, log_dir: Path, flags: Sequence[str] = ()
) -> dict[str, Any]:
    """Seconds from the commit of a version listing TARGET to the first record blocked under it, the worker
    run with ``flags``."""
    run = uuid.uuid4().hex[:8]
    topics = [f"bench.live.{run}.{kind}" for kind in ("payments", "cleared", "blocked", "dlq")]
    watch = f"bench.live.{run}.watchlists"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(t, 1, 1) for t in topics]).values():
        future.result()
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    ensure_topic(kafka, watch)
    write_version(kafka, watch, base, manifest_of(base))
    log_path = log_dir / f"worker-{run}.log"
    worker = start_worker(bootstrap, topics, watch, f"bench-live-{run}", log_path, flags=flags)
    stop = threading.Event()
    try:
        new = with_target(base)
        reader = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"bench-live-r-{run}",
                "isolation.level": "read_committed",
            }
        )
        reader.assign([TopicPartition(topics[2], 0, OFFSET_END)])
        threading.Thread(target=trickle, args=(bootstrap, topics[0], stop), daemon=True).start()
        time.sleep(2.0)
        write_version(kafka, watch, new, manifest_of(new))
        delay = first_blocked_under(reader, watchlist_version(new))
        reader.close()
        names = sum(wl.name_count for wl in new)
        return {"label": label, "names": names, "delay_seconds": delay, "flags": " ".join(flags)}
    finally:
        stop.set()
        worker.terminate()
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
        admin.delete_topics([*topics, watch])


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Live lists",
        "",
        f"Measured {results['when']} on {results['machine']}; a shared 2-core machine: noisy timings.",
        "",
        "| stall of a 1 ms loop | names | build (s) | p50 (ms) | p99 (ms) | max (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["stall"]:
        for phase in ("baseline", "during_build"):
            s = row[phase]
            build = row["build_seconds"] if phase == "during_build" else "–"
            lines.append(
                f"| {phase.replace('_', ' ')} | {row['names']:,} | {build} | {s['p50_ms']} | {s['p99_ms']} | "
                f"{s['max_ms']} |"
            )
    lines += [
        "",
        "| publish → first event screened with it | names | worker flags | delay (s) | target (s) |",
        "|---|---|---|---|---|",
    ]
    for row in results["delay"]:
        delay = "did not arrive" if row["delay_seconds"] is None else f"{row['delay_seconds']:.2f}"
        flags = f"`{row['flags']}`" if row.get("flags") else "–"
        lines.append(f"| {row['label']} | {row['names']:,} | {flags} | {delay} | {row['target_seconds']} |")
    return "\n".join(lines) + "\n"


def run(bootstrap: str | None, *, quick: bool, out: Path) -> dict[str, Any]:
    """Both measurements (the delay only with a broker); writes ``live_lists.json`` and ``.md`` to ``out``."""
    big = 200_000 if quick else 1_000_000
    bundled = list(load_watchlists(DEFAULT_SOURCES))
    results: dict[str, Any] = {"when": timestamp(), "machine": machine(), "stall": [], "delay": []}
    print("live lists: stall while the bundled lists build", file=sys.stderr)
    results["stall"].append(measure_stall(bundled))
    if bootstrap is not None:
        large = [*bundled, synthetic_watchlist(big)]
        # A PEP-scale list runs with the fuzzy tier limited to the sanctions lists (README: --fuzzy-lists):
        # its anchors would be too common in traffic, and its fuzzy build is what a swap would wait for.
        sanctions_only = ["--fuzzy-lists", ",".join(wl.list_id for wl in bundled)]
        with tempfile.TemporaryDirectory() as logs:
            for label, lists, target, flags in (
                ("bundled lists", bundled, 5, []),
                (f"bundled + {big:,} names", large, 90, sanctions_only),
            ):
                print(f"live lists: publish → screened delay, {label}", file=sys.stderr)
                row = measure_delay(bootstrap, lists, label, Path(logs), flags)
                row["target_seconds"] = target
                results["delay"].append(row)
    out.mkdir(parents=True, exist_ok=True)
    (out / "live_lists.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / "live_lists.md").write_text(markdown(results), encoding="utf-8")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200k synthetic names instead of 1M")
    parser.add_argument(
        "--bootstrap-servers", default=None, help="use this cluster, else start a local broker"
    )
    parser.add_argument("--no-delay", action="store_true", help="measure the stall only (no broker)")
    parser.add_argument("--out", type=Path, default=None, help="where the results go")
    args = parser.parse_args(argv)
    out = args.out or (RESULTS / "quick" if args.quick else RESULTS)
    if args.no_delay:
        results = run(None, quick=args.quick, out=out)
    else:
        with bench_broker(args.bootstrap_servers) as bootstrap:
            results = run(bootstrap, quick=args.quick, out=out)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
