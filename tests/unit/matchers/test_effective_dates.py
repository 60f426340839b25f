"""Rule f: an entity blocks an event when in force at its created_at or at the time it is screened."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from matchers.automaton import NameAutomaton
from matchers.screening import check_text, screen_batch, screen_batch_full
from matchers.watchlist import Entity, EntityType, ListedName, Watchlist
from schemas.records import Verdict, decode_blocked

BYTEDANCE = "us-eo-2020:bytedance"  # in force [2020-09-20, 2021-06-09)
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def designated() -> NameAutomaton:
    """One entity designated from 2026-06-01, with no end."""
    entity = Entity(
        "t:zeta",
        "t",
        EntityType.ENTITY,
        (ListedName("ZETA HOLDINGS"),),
        ("P",),
        effective_from=datetime(2026, 6, 1, tzinfo=UTC),
    )
    return NameAutomaton([Watchlist.build("t", "test", [entity])])


def hits_of(raw: bytes, automaton: NameAutomaton, now: datetime) -> dict[str, str]:
    """Entity id -> in_force_at of each hit, checked alike by the fast path and the full path."""
    fast, full = screen_batch([raw], automaton, now), screen_batch_full([raw], automaton, now)
    assert fast.values == full.values
    return {hit.entity_id: hit.in_force_at for hit in fast.hits.get(0, [])}


def test_backdated_payment_blocks_on_its_screening_time(
    designated: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """A payment dated before the designation but screened while it is in force is blocked."""
    raw = make_event(remittance="to Zeta Holdings", created_at="2026-05-01T09:00:00Z")
    result = screen_batch([raw], designated, NOW)
    assert result.verdicts == [Verdict.BLOCKED]
    assert decode_blocked(result.values[0]).hits[0].in_force_at == "screened_at"


def test_created_the_day_before_a_ban_and_screened_after_is_blocked(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """TikTok created on 2020-09-19 and screened on 2020-09-21, after EO 13942 took effect, is blocked."""
    raw = make_event(remittance="TikTok ads", created_at="2020-09-19T12:00:00Z")
    assert hits_of(raw, default_automaton, datetime(2020, 9, 21, 8, tzinfo=UTC)) == {BYTEDANCE: "screened_at"}


def test_historical_payment_still_blocks_on_its_created_at(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """A 2020 payment to TikTok screened today (the ban was revoked in 2021) is blocked on its created_at."""
    raw = make_event(remittance="TikTok ads", created_at="2020-10-01T12:00:00Z")
    assert hits_of(raw, default_automaton, NOW) == {BYTEDANCE: "created_at"}


@pytest.mark.parametrize(
    ("created_at", "screened", "expected"),
    [
        ("2020-10-01T12:00:00Z", datetime(2020, 10, 2, tzinfo=UTC), {BYTEDANCE: "both"}),
        ("2020-10-01T12:00:00Z", datetime(2021, 7, 1, tzinfo=UTC), {BYTEDANCE: "created_at"}),
        ("2020-08-10T12:00:00Z", datetime(2020, 10, 2, tzinfo=UTC), {BYTEDANCE: "screened_at"}),
        ("2020-08-10T12:00:00Z", datetime(2021, 7, 1, tzinfo=UTC), {}),
    ],
)
def test_in_force_at_says_which_time_made_the_hit(
    default_automaton: NameAutomaton,
    make_event: Callable[..., bytes],
    created_at: str,
    screened: datetime,
    expected: dict[str, str],
) -> None:
    """in_force_at is created_at, screened_at or both; out of force at both times is no hit."""
    raw = make_event(remittance="TikTok ads", created_at=created_at)
    assert hits_of(raw, default_automaton, screened) == expected


def test_undated_entities_are_in_force_at_both(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """A list entry without effective dates (OFAC, UN) is in force at both times."""
    raw = make_event(creditor="Banco Nacional de Cuba", created_at="2001-01-01T00:00:00Z")
    assert hits_of(raw, default_automaton, NOW) == {"ofac-sdn:306": "both"}


def test_check_text_applies_the_screening_time(default_automaton: NameAutomaton) -> None:
    """check_text hits an entity in force at the screening time though not at the payment date."""
    hits = check_text(
        "TikTok ads",
        default_automaton,
        at=datetime(2020, 9, 19, tzinfo=UTC),
        screened_at=datetime(2020, 9, 21, tzinfo=UTC),
    )
    assert [(h.entity_id, h.in_force_at) for h in hits] == [(BYTEDANCE, "screened_at")]


def test_a_screening_time_without_timezone_is_refused(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """A naive screening time raises before any event is judged (it cannot be compared with dates)."""
    with pytest.raises(ValueError, match="timezone"):
        screen_batch([make_event()], default_automaton, datetime(2026, 1, 1))
