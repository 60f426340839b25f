"""The Kafka broker a benchmark runs on: an existing cluster when given, else a local one it starts and stops.

The local one is the project's own single-node broker (:class:`streams.localbroker.broker.LocalBroker`)
on free ports with a temporary state dir, removed afterwards; it runs with the same settings as ``txscreen
kafka up``, so every engine measured here talks to the same broker, one at a time.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from streams.localbroker.broker import BrokerConfig, LocalBroker, free_ports, wait_until_answers

START_TIMEOUT = 300.0  # a fresh machine also fetches the jars


def _say(message: str) -> None:
    print(f"  broker: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def bench_broker(
    external: str | None = None, *, cache_dir: Path | None = None, heap: str = "1g"
) -> Iterator[str]:
    """Bootstrap servers of ``external`` when given (it must answer), else of a local broker started here."""
    if external:
        if not wait_until_answers(external, timeout=60.0):
            raise RuntimeError(f"the Kafka cluster at {external} does not answer a metadata request")
        _say(f"using the cluster at {external}")
        yield external
        return
    with tempfile.TemporaryDirectory(prefix="txscreen-bench-kafka-") as state:
        port, controller_port = free_ports(2)
        config = BrokerConfig(
            port=port, controller_port=controller_port, state_dir=Path(state), cache_dir=cache_dir, heap=heap
        )
        broker = LocalBroker(config, progress=_say)
        try:
            bootstrap = broker.start(timeout=START_TIMEOUT)
            _say(f"local broker at {bootstrap} (pid {broker.pid()})")
            yield bootstrap
        finally:
            broker.stop()
            _say("stopped")
