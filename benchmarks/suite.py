"""The benchmark suite (``make bench``): core, end-to-end, peers, latency and list-size scaling, one run.

Every comparison is measured side by side in this run and reported as a ratio; absolute rates are
shown for scale only (a shared 2-core machine is too noisy for them to mean much). Steps:

1. core: ``python -m benchmarks.core --scaling …`` (screening core vs an orjson parse loop, on both
   traffic profiles, and the automaton's build time, memory and core ratio for synthetic lists up to
   a million names), then ``python -m benchmarks.whole_process`` (``txscreen screen FILE`` vs an
   orjson loop, start-up apart, both profiles);
2. a Kafka broker: the local one on free ports in a temporary state dir (stopped at the end), or
   ``--bootstrap-servers``;
3. end-to-end (:mod:`benchmarks.drains`): the input topic pre-loaded once, then drained by each
   engine in rounds: worker vs copier (exactly-once; also at-least-once in the full run), the Faust
   engine, the quixstreams peer;
4. the load generator alone: events/s to Kafka and to a file;
5. latency (:mod:`benchmarks.latency`): loadgen at 25%, 50% and 75% of the worker's measured
   exactly-once rate, exactly-once and at-least-once;
6. live lists (:mod:`benchmarks.live_lists`): publish → first event screened with the new version (bundled
   lists; 1M synthetic names, 200k quick) and the loop's stall while a version builds;
7. results: ``benchmarks/results/suite.json``, ``suite.md``, PNG plots, and the summary in
   ``benchmarks/README.md`` (the ``<!-- RESULTS -->`` section).

``--quick`` (``BENCH_QUICK=1 make bench``) runs smaller sizes and fewer rounds: a few minutes. Its
results go to ``benchmarks/results/quick/`` (ignored by git) and leave ``benchmarks/README.md`` alone,
so a quick run never overwrites the tracked full-run results (:func:`destinations`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import drains, live_lists
from benchmarks.broker_session import bench_broker
from benchmarks.core import RESULTS, machine
from benchmarks.drains import COPIER, COPIER_ALOS, FAUST, QUIX, WORKER, WORKER_ALOS, BenchError, Engine
from benchmarks.faust_drain import faust_available
from benchmarks.latency import latency_run
from matchers.sources import DEFAULT_SOURCES, load_watchlists
from streams.kafka.clients import plain_producer_config
from streams.kafka.publisher import KafkaSink
from streams.loadgen.generator import EventSource, FileSink, LoadPlan, generate
from streams.loadgen.synthetic import EventFactory, TrafficProfile
from streams.settings import Guarantee, KafkaSettings, Latency

LOADS = (0.25, 0.5, 0.75)
#: The latency runs: exactly-once under both worker latency profiles, at-least-once under the default.
LATENCY_CASES = (
    (Guarantee.EXACTLY_ONCE, Latency.THROUGHPUT),
    (Guarantee.EXACTLY_ONCE, Latency.LOW),
    (Guarantee.AT_LEAST_ONCE, Latency.THROUGHPUT),
)
#: Where quick runs write their results: ignored by git, so the tracked full-run results stay as they are.
QUICK_RESULTS = RESULTS / "quick"
README = drains.REPO / "benchmarks" / "README.md"


@dataclass(frozen=True, slots=True)
class Plan:
    """Sizes of one suite run."""

    quick: bool
    events: int
    """Events pre-loaded and drained by every engine in every round."""
    rounds: int
    """Rounds of worker vs copier."""
    peer_rounds: int
    """Rounds that also run the Faust engine and the quixstreams peer (the first ones)."""
    alos: bool
    """Whether worker and copier also run at-least-once."""
    latency_seconds: float
    core_events: int
    core_rounds: int
    scaling: str
    whole_events: int
    """Events of the whole-process benchmark's file, per traffic profile."""
    multilingual_rounds: int
    """Rounds of worker vs copier on the multilingual profile."""

    @classmethod
    def choose(cls, quick: bool) -> Plan:
        """The full plan (~10 minutes here) or the quick one (~4 minutes)."""
        if quick:
            return cls(True, 100_000, 3, 2, False, 6.0, 20_000, 3, "1000,20000,200000", 100_000, 2)
        return cls(False, 200_000, 7, 5, True, 15.0, 50_000, 5, "1000,20000,200000,1000000", 300_000, 3)


def _reason(exc: Exception) -> str:
    """A failure in one line: the error's first line and, when it quotes a log, the log's last line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1]}"


def say(message: str) -> None:
    """Progress on stderr."""
    print(message, file=sys.stderr, flush=True)


def run_core(plan: Plan, out: Path) -> dict[str, Any]:
    """benchmarks/core.py in its own process (before the broker starts: nothing else running)."""
    say(f"core: {plan.core_events:,} events, scaling {plan.scaling} …")
    subprocess.run(
        [
            sys.executable, "-m", "benchmarks.core", "--events", str(plan.core_events),
            "--rounds", str(plan.core_rounds), "--scaling", plan.scaling, "--out", str(out),
        ],
        check=True,
        cwd=drains.REPO,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    report: dict[str, Any] = json.loads((out / "core.json").read_text())
    return report


def run_engines(plan: Plan, out: Path, notes: list[str]) -> dict[str, Any] | None:
    """benchmarks/engines.py in its own process: the core on the native and the pure-Python engine."""
    say(f"engines: {plan.core_events:,} events on the native fast path and on pure Python …")
    done = subprocess.run(
        [
            sys.executable, "-m", "benchmarks.engines", "--events", str(plan.core_events),
            "--rounds", str(plan.core_rounds), "--out", str(out),
        ],
        check=False,
        cwd=drains.REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    if done.returncode != 0:
        notes.append(f"engines benchmark left out: {_reason(RuntimeError(done.stderr))}")
        return None
    report: dict[str, Any] = json.loads((out / "engines.json").read_text())
    return report


def run_fuzzy(plan: Plan, out: Path) -> dict[str, Any]:
    """benchmarks/fuzzy.py in its own process: the fuzzy tier's recall, false positives and on/off ratio."""
    say("fuzzy tier: typo recall, false positives, fuzzy on/off core ratio …")
    quick = ["--every", "10", "--faker", "10000", "--rounds", "3"] if plan.core_events < 50_000 else []
    subprocess.run(
        [sys.executable, "-m", "benchmarks.fuzzy", "--out", str(out), *quick],
        check=True,
        cwd=drains.REPO,
        stdout=subprocess.DEVNULL,
    )
    report: dict[str, Any] = json.loads((out / "fuzzy.json").read_text())
    return report


def engines_for(plan: Plan, notes: list[str]) -> tuple[list[Engine], list[Engine]]:
    """(engines of every round, engines of the peer rounds only); notes say what is left out and why."""
    every = [WORKER, COPIER] + ([WORKER_ALOS, COPIER_ALOS] if plan.alos else [])
    peers: list[Engine] = []
    if faust_available():
        peers.append(FAUST)
    else:
        notes.append("TODO: the Faust engine (streams/faust/app.py) was not importable: not measured.")
    if drains.QUIX_PYTHON.exists():
        peers.append(QUIX)
    else:
        notes.append(
            f"the quixstreams peer's virtualenv ({drains.QUIX_PYTHON}) is missing: run `make bench`."
        )
    return every, peers


def loadgen_rates(bootstrap: str, events: int = 200_000, runs: int = 3) -> dict[str, float]:
    """Events/s of the load generator on its own (median of ``runs``): to a Kafka topic, and to /dev/null.

    As ``txscreen loadgen`` runs: a 20,000-event pool generated first, then repeated; timestamps set
    at each ``produce``; the time includes the final flush.
    """
    factory = EventFactory(load_watchlists(DEFAULT_SOURCES), seed=1)
    source = EventSource(factory, 20_000)
    topic = drains.fresh_topics("bench.loadgen").input
    client = drains.admin(bootstrap)
    drains.create_topics(client, [topic], partitions=drains.PARTITIONS)
    try:
        config = plain_producer_config(KafkaSettings(bootstrap_servers=bootstrap))
        kafka = [generate(source, KafkaSink(config, topic), LoadPlan(count=events)).rate for _ in range(runs)]
    finally:
        drains.delete_topics(client, [topic])
    with Path(os.devnull).open("wb") as null:
        file = [generate(source, FileSink(null), LoadPlan(count=events)).rate for _ in range(runs)]
    rates = {"kafka": statistics.median(kafka), "file": statistics.median(file)}
    say(f"loadgen alone: {rates['kafka']:,.0f} events/s to Kafka, {rates['file']:,.0f} events/s to a file")
    return rates


def run_e2e(plan: Plan, bootstrap: str, logs: Path, notes: list[str]) -> dict[str, Any]:
    """Pre-load the input topic once, then drain it with every engine, in rounds."""
    every, peers = engines_for(plan, notes)
    topics = drains.fresh_topics("bench.e2e")
    client = drains.admin(bootstrap)
    drains.create_topics(client, [topics.input], partitions=drains.PARTITIONS)
    errors: dict[str, str] = {}

    def failed(engine: Engine, exc: BenchError) -> None:
        errors[engine.name] = str(exc)
        notes.append(f"{engine.label} failed and was left out: {_reason(exc)}")
        say(f"  {engine.name} FAILED: {exc}")

    try:
        say(
            f"end-to-end: pre-loading {plan.events:,} events into {topics.input} "
            f"({drains.PARTITIONS} partitions)"
        )
        drains.preload(bootstrap, topics.input, plan.events)
        schedule = [every + (peers if n < plan.peer_rounds else []) for n in range(plan.rounds)]
        results = drains.rounds(
            schedule,
            lambda engine, n: drains.drain(
                engine, bootstrap, topics.input, plan.events, round_no=n, logs=logs
            ),
            on_error=failed,
        )
    finally:
        drains.delete_topics(client, [topics.input])
    names = sorted({r.engine for r in results})
    pairs = [
        ("worker", "copier"),
        ("worker-alos", "copier-alos"),
        ("faust", "copier"),
        ("faust", "copier-alos"),
        ("quixstreams", "copier"),
        ("worker", "quixstreams"),
    ]
    ratios = {
        f"{a}/{b}": {
            "median": drains.median_ratio(results, a, b),
            "rounds": [round(x, 4) for x in drains.round_ratios(results, a, b)],
        }
        for a, b in pairs
        if a in names and b in names
    }
    return {
        "events": plan.events,
        "partitions": drains.PARTITIONS,
        "drains": [{**asdict(r), "rate": r.rate} for r in results],
        "rates": {name: drains.median_rate(results, name) for name in names},
        "labels": {e.name: e.label for e in [*every, *peers]},
        "ratios": ratios,
        "errors": errors,
    }


def run_e2e_multilingual(plan: Plan, bootstrap: str, logs: Path, notes: list[str]) -> dict[str, Any]:
    """The worker against the copier, exactly-once, on the multilingual profile (its own input topic)."""
    topics = drains.fresh_topics("bench.e2e-multi")
    client = drains.admin(bootstrap)
    drains.create_topics(client, [topics.input], partitions=drains.PARTITIONS)

    def failed(engine: Engine, exc: BenchError) -> None:
        notes.append(f"{engine.label} (multilingual) failed and was left out: {_reason(exc)}")
        say(f"  {engine.name} (multilingual) FAILED: {exc}")

    try:
        say(f"end-to-end, multilingual profile: pre-loading {plan.events:,} events into {topics.input}")
        drains.preload(bootstrap, topics.input, plan.events, profile=TrafficProfile.MULTILINGUAL)
        results = drains.rounds(
            [[WORKER, COPIER]] * plan.multilingual_rounds,
            lambda engine, n: drains.drain(
                engine, bootstrap, topics.input, plan.events, round_no=n, logs=logs
            ),
            on_error=failed,
        )
    finally:
        drains.delete_topics(client, [topics.input])
    return {
        "events": plan.events,
        "rounds": plan.multilingual_rounds,
        "rates": {name: drains.median_rate(results, name) for name in ("worker", "copier")},
        "ratio": {
            "median": drains.median_ratio(results, "worker", "copier"),
            "rounds": [round(x, 4) for x in drains.round_ratios(results, "worker", "copier")],
        },
    }


def run_whole_process(plan: Plan, out: Path) -> dict[str, Any]:
    """benchmarks/whole_process.py in its own process: ``txscreen screen FILE`` vs an orjson loop."""
    say(f"whole process: {plan.whole_events:,} events a profile …")
    subprocess.run(
        [
            sys.executable, "-m", "benchmarks.whole_process", "--events", str(plan.whole_events),
            "--rounds", str(plan.core_rounds), "--out", str(out),
        ],
        check=True,
        cwd=drains.REPO,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    report: dict[str, Any] = json.loads((out / "whole_process.json").read_text())
    return report


def run_latency(
    plan: Plan, bootstrap: str, max_rate: float, logs: Path, notes: list[str]
) -> list[dict[str, Any]]:
    """Latency percentiles at each offered load, exactly-once and at-least-once."""
    runs: list[dict[str, Any]] = []
    for guarantee, profile in LATENCY_CASES:
        for share in LOADS:
            rate = share * max_rate
            case = f"{guarantee.value} --latency {profile.value}"
            say(f"latency: {case} at {share:.0%} of {max_rate:,.0f} = {rate:,.0f} events/s …")
            try:
                run = latency_run(
                    bootstrap, guarantee, share, rate, plan.latency_seconds, logs=logs, profile=profile
                )
            except BenchError as exc:
                notes.append(f"latency {case} at {share:.0%} failed: {_reason(exc)}")
                say(f"  FAILED: {exc}")
                continue
            say(f"  p50 {run.p50_ms:.0f} ms, p99 {run.p99_ms:.0f} ms, p99.9 {run.p999_ms:.0f} ms")
            runs.append(run.as_dict())
    return runs


def destinations(*, quick: bool, out: Path | None, no_readme: bool) -> tuple[Path, Path | None]:
    """(results folder, README to update or None) of a run.

    A full run writes to ``--out`` (default ``benchmarks/results/``) and updates ``benchmarks/README.md``;
    a quick run writes to ``--out`` (default ``benchmarks/results/quick/``, ignored by git) and never
    touches the README, whose results section is the full run's.
    """
    if quick:
        return out or QUICK_RESULTS, None
    return out or RESULTS, None if no_readme else README


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite and write the results; 1 when a required part (core, worker or copier) failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer rounds: a few minutes")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"results folder (default: {RESULTS}, or {QUICK_RESULTS} with --quick)",
    )
    parser.add_argument("--bootstrap-servers", help="use this Kafka cluster instead of starting a local one")
    parser.add_argument(
        "--kafka-cache", type=Path, help="the local broker's jar cache (default: as kafka up)"
    )
    parser.add_argument(
        "--no-readme", action="store_true", help="do not update benchmarks/README.md (--quick never does)"
    )
    args = parser.parse_args(argv)
    from benchmarks.report import write_results

    plan = Plan.choose(args.quick)
    out, readme = destinations(quick=args.quick, out=args.out, no_readme=args.no_readme)
    out.mkdir(parents=True, exist_ok=True)
    if args.quick:
        say(f"quick run: results go to {out}, benchmarks/README.md is left as it is")
    started = time.monotonic()
    notes: list[str] = []
    report: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": machine(),
        "plan": asdict(plan),
        "notes": notes,
    }
    report["core"] = run_core(plan, out)
    report["whole_process"] = run_whole_process(plan, out)
    report["engines"] = run_engines(plan, out, notes)
    report["fuzzy"] = run_fuzzy(plan, out)
    with tempfile.TemporaryDirectory(prefix="txscreen-bench-logs-") as tmp:
        logs = Path(tmp)
        try:
            with bench_broker(args.bootstrap_servers, cache_dir=args.kafka_cache) as bootstrap:
                report["e2e"] = run_e2e(plan, bootstrap, logs, notes)
                report["e2e_multilingual"] = run_e2e_multilingual(plan, bootstrap, logs, notes)
                report["loadgen"] = loadgen_rates(bootstrap)
                max_rate = report["e2e"]["rates"].get("worker")
                if not max_rate:
                    raise BenchError(
                        "the worker did not complete a drain: no rate to base the latency runs on"
                    )
                report["latency"] = run_latency(plan, bootstrap, max_rate, logs, notes)
                report["live_lists"] = live_lists.run(bootstrap, quick=plan.quick, out=out)
        except BenchError as exc:
            say(f"bench failed: {exc}")
            return 1
    report["seconds"] = round(time.monotonic() - started)
    text = write_results(report, out, readme=readme)
    print(text)
    updated = f"; summary in {readme}" if readme is not None else ""
    say(f"done in {report['seconds'] / 60:.1f} minutes; results in {out}{updated}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
