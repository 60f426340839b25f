"""Run txscreen's Faust engine (:func:`streams.faust.app.run_faust`) over an input topic, for the benchmark.

The Faust runner is at-least-once only; it stops after ``--max-events`` (as ``txscreen run --engine
faust --max-events N`` would) and logs the same summary line as the worker ("processed N events in
S s from the first batch to the last"), where the last batch is the last one whose outputs were
acknowledged (Faust commits the acked offsets every 2.8 s and at the stop).

    python -m benchmarks.faust_drain --bootstrap-servers HOST:PORT --input-topic T --cleared-topic C \
        --blocked-topic B --dlq-topic D --group-id G --max-events N
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from benchmarks.drain_args import drain_parser
from streams.localbroker.broker import free_ports
from streams.settings import Guarantee, KafkaSettings, Topics, WorkerSettings


def faust_available() -> bool:
    """Whether the Faust engine (streams/faust/app.py and faust-streaming) can be imported here."""
    try:
        from streams.faust.app import run_faust  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Drain ``--max-events`` events through the Faust engine; its exit status."""
    parser = drain_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    from streams.faust.app import run_faust

    settings = WorkerSettings(
        kafka=KafkaSettings(
            bootstrap_servers=args.bootstrap_servers,
            topics=Topics(args.input_topic, args.cleared_topic, args.blocked_topic, args.dlq_topic),
        ),
        group_id=args.group_id,
        guarantee=Guarantee.AT_LEAST_ONCE,
        max_events=args.max_events,
        status_interval=0,
    )
    (web_port,) = free_ports(1)
    return run_faust(settings, web_port=web_port)


if __name__ == "__main__":
    sys.exit(main())
