"""Shared fixtures for the unit tier: the real bundled lists, loaded once per session."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest

from matchers import backend
from matchers.automaton import NameAutomaton
from matchers.sources import DEFAULT_SOURCES, load_watchlists
from matchers.watchlist import Watchlist


@pytest.fixture(scope="session")
def default_lists() -> tuple[Watchlist, ...]:
    """The built-in list plus the bundled OFAC SDN and UN snapshots."""
    return load_watchlists(DEFAULT_SOURCES)


@pytest.fixture(scope="session")
def default_automaton(default_lists: tuple[Watchlist, ...]) -> NameAutomaton:
    """The automaton over the default lists (built once: about a second)."""
    return NameAutomaton(default_lists)


@pytest.fixture(scope="session")
def native_automaton(default_lists: tuple[Watchlist, ...]) -> NameAutomaton:
    """The automaton over the default lists on the native fast path, whatever TXSCREEN_PURE_PYTHON says
    (tests of the native triage itself; skipped where the fast path is not built)."""
    native = backend.native_engine()
    if native is None:
        pytest.skip("the native fast path is not built (no cargo at install time)")
    return NameAutomaton(default_lists, using=native)


@pytest.fixture(scope="session")
def pure_automaton(default_lists: tuple[Watchlist, ...]) -> NameAutomaton:
    """The automaton over the default lists on the pure-Python engine (pyahocorasick)."""
    return NameAutomaton(default_lists, using=backend.PURE)


@pytest.fixture(scope="session")
def exact_automaton(default_lists: tuple[Watchlist, ...]) -> NameAutomaton:
    """The automaton over the default lists with the fuzzy tier off (exact keys only)."""
    return NameAutomaton(default_lists, fuzzy=False)


@pytest.fixture(scope="session")
def native_exact_automaton(default_lists: tuple[Watchlist, ...]) -> NameAutomaton:
    """The native fast path's automaton with exact keys only (tests of the native triage's codes; skipped
    where the fast path is not built)."""
    native = backend.native_engine()
    if native is None:
        pytest.skip("the native fast path is not built (no cargo at install time)")
    return NameAutomaton(default_lists, fuzzy=False, using=native)


@pytest.fixture
def make_event() -> Callable[..., bytes]:
    """Builds a raw payment event; keyword arguments override the screened fields and the date."""

    def build(
        *,
        debtor: str = "Maria Gonzalez",
        creditor: str = "Northwind Trading GmbH",
        remittance: str | None = "Invoice 4711",
        debtor_agent: str | None = "Deutsche Bank AG",
        creditor_agent: str | None = "Commerzbank AG",
        created_at: str = "2020-10-01T12:00:00Z",
        event_id: str = "pay-1",
        **extra: object,
    ) -> bytes:
        event: dict[str, object] = {
            "id": event_id,
            "created_at": created_at,
            "amount": "1250.00",
            "currency": "EUR",
            "debtor": {"name": debtor, "agent": {"bic": "DEUTDEFFXXX", "name": debtor_agent}},
            "creditor": {"name": creditor, "agent": {"bic": "COBADEFFXXX", "name": creditor_agent}},
            "remittance": remittance,
            **extra,
        }
        return orjson.dumps(event)

    return build


def at(day: str) -> datetime:
    """Midnight UTC of an ISO date."""
    return datetime.fromisoformat(day).replace(tzinfo=UTC)
