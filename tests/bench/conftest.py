"""Fixtures of the benchmark guards: a Kafka broker for the end-to-end guard, and a summary of the ratios.

The broker is chosen as for the Kafka tier (tests/kafka/conftest.py: ``KAFKA_BOOTSTRAP_SERVERS``, else
a Docker engine, else the project's own local broker), with the same helpers, but it lives for one
module only: the guard's broker is stopped before the Kafka tier starts its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.kafka.conftest import choose_broker

_SUMMARY: list[str] = []


@pytest.fixture(scope="module")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of a broker for this module (the Kafka tier's choice of broker; never skipped)."""
    yield from choose_broker(tmp_path_factory.mktemp("bench-kafka-state"))


@pytest.fixture
def bench_summary() -> Callable[[str], None]:
    """``bench_summary(line)``: a line shown at the end of the pytest run (ratios measured by the guards)."""
    return _SUMMARY.append


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show the ratios the benchmark guards measured, whatever their outcome."""
    if _SUMMARY:
        terminalreporter.section("benchmark guards")
        for line in _SUMMARY:
            terminalreporter.write_line(line)
