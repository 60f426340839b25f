"""The peer: txscreen's screening written idiomatically with quixstreams, for the end-to-end benchmark.

It runs in its own virtualenv (quixstreams pins confluent-kafka below ours; ``make bench`` builds
``.venv/peers/quix`` from ``benchmarks/peer-quix.txt``) and imports txscreen's matchers from the
source tree (``PYTHONPATH``). quixstreams processes one message at a time, so the screening step is
an ``apply`` calling :func:`matchers.screening.screen_batch` on a one-element batch; the three
outputs are three branches, each a ``filter`` on the verdict and a ``to_topic``. Delivery uses
quixstreams' own exactly-once guarantee (Kafka transactions, committed every ``commit_interval``:
its default, 5 s) or at-least-once, with every other setting at its default.

It stops after ``--max-events`` messages (counted by ``on_message_processed``), and prints the same
summary line as ``txscreen run``: the time runs from the first message screened until
``Application.run`` returned, i.e. after its final commit (and the consumer's close).

    PYTHONPATH=. .venv/peers/quix/bin/python -m benchmarks.peer_quix --bootstrap-servers HOST:PORT \
        --input-topic T --cleared-topic C --blocked-topic B --dlq-topic D --group-id G --max-events N
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from quixstreams import Application, message_context

from benchmarks.drain_args import drain_parser
from matchers.screening import screen_batch
from schemas.records import Verdict
from streams.lists import load_automaton


def main(argv: Sequence[str] | None = None) -> int:
    """Screen ``--max-events`` events with quixstreams, then print the rate on stderr."""
    parser = drain_parser(__doc__.splitlines()[0])
    parser.add_argument("--guarantee", choices=["exactly-once", "at-least-once"], default="exactly-once")
    args = parser.parse_args(argv)

    automaton = load_automaton(None)
    processed = 0
    first: list[float] = []

    def on_processed(_topic: str, _partition: int, _offset: int) -> None:
        nonlocal processed
        processed += 1
        if processed >= args.max_events:
            app.stop()

    app = Application(
        broker_address=args.bootstrap_servers,
        consumer_group=args.group_id,
        auto_offset_reset="earliest",
        processing_guarantee=args.guarantee,
        on_message_processed=on_processed,
        loglevel="WARNING",
    )
    source = app.topic(args.input_topic, key_deserializer="bytes", value_deserializer="bytes")
    outputs = {
        Verdict.CLEARED: args.cleared_topic,
        Verdict.BLOCKED: args.blocked_topic,
        Verdict.DEAD_LETTER: args.dlq_topic,
    }
    counts = dict.fromkeys(outputs, 0)

    def screen(value: bytes) -> tuple[Verdict, bytes]:
        if not first:
            first.append(time.perf_counter())

        def where(_i: int) -> dict[str, Any]:
            ctx = message_context()
            return {"topic": ctx.topic, "partition": ctx.partition, "offset": ctx.offset}

        result = screen_batch([value], automaton, source_of=where)
        counts[result.verdicts[0]] += 1
        return result.verdicts[0], result.values[0]

    screened = app.dataframe(source).apply(screen)
    for verdict, name in outputs.items():
        topic = app.topic(name, key_serializer="bytes", value_serializer="bytes")
        branch = screened.filter(lambda out, v=verdict: out[0] is v)
        branch.apply(lambda out: out[1]).to_topic(topic)

    app.run()
    end = time.perf_counter()
    seconds = end - first[0] if first else 0.0
    rate = processed / seconds if seconds > 0 else 0.0
    logging.shutdown()
    print(
        f"peer-quixstreams: processed {processed:,} events in {seconds:,.2f} s from the first batch to the "
        f"last ({rate:,.0f} events/s): cleared {counts[Verdict.CLEARED]:,}, blocked "
        f"{counts[Verdict.BLOCKED]:,}, dead-lettered {counts[Verdict.DEAD_LETTER]:,}",
        file=sys.stderr,
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
