"""Weak aliases corroborate, never block alone (issue 10, OFAC FAQ 124)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import orjson
import pytest

from matchers.automaton import NameAutomaton
from matchers.policy import HitRule
from matchers.screening import check_text, screen_batch
from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist
from schemas.records import Verdict

NOW = datetime(2026, 1, 5, tzinfo=UTC)
SCHEMA = orjson.loads(Path("schemas/blocked_record.v1.schema.json").read_bytes())


@pytest.mark.parametrize("alias", ["SANTOS", "MARTIN", "NICOLAS", "PACHO", "BNC", "Santos", "martin"])
def test_real_weak_aliases_alone_are_cleared(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes], alias: str
) -> None:
    """A party named only by a real OFAC weak alias (SANTOS, MARTIN, NICOLAS…) is cleared."""
    result = screen_batch([make_event(creditor=alias), make_event(debtor=alias)], default_automaton, NOW)
    assert result.verdicts == [Verdict.CLEARED, Verdict.CLEARED]


def _automaton() -> NameAutomaton:
    entity = Entity(
        "t:1",
        "t",
        EntityType.ENTITY,
        (ListedName("ZETA ORBITAL HOLDINGS"), ListedName("ZOH", NameStrength.WEAK)),
        ("P",),
    )
    other = Entity(
        "t:2", "t", EntityType.ENTITY, (ListedName("KAPPA MINING"), ListedName("KM", NameStrength.WEAK))
    )
    return NameAutomaton([Watchlist.build("t", "test", [entity, other])])


def test_weak_alias_corroborates_a_strong_hit_of_its_entity(make_event: Callable[..., bytes]) -> None:
    """With the entity hit by a strong name in the same event, the weak match is a corroborating hit."""
    automaton = _automaton()
    raw = make_event(creditor="ZOH", remittance="invoice Zeta Orbital Holdings 12")
    result = screen_batch([raw], automaton, NOW)
    assert result.verdicts == [Verdict.BLOCKED]
    rules = sorted((h.field, h.rule) for h in result.hits[0])
    assert rules == [("creditor.name", HitRule.CORROBORATING.value), ("remittance", HitRule.ANYWHERE.value)]
    jsonschema.validate(orjson.loads(result.values[0]), SCHEMA)


def test_weak_alias_of_another_entity_does_not_corroborate(make_event: Callable[..., bytes]) -> None:
    """A weak alias corroborates only its own entity: KM beside a Zeta hit is not in the record."""
    automaton = _automaton()
    raw = make_event(creditor="KM", remittance="invoice Zeta Orbital Holdings 12")
    result = screen_batch([raw], automaton, NOW)
    assert [h.entity_id for h in result.hits[0]] == ["t:1"]


def test_weak_alias_alone_is_cleared(make_event: Callable[..., bytes]) -> None:
    """A whole party name equal to a weak alias, and nothing else listed, is cleared."""
    result = screen_batch([make_event(creditor="ZOH")], _automaton(), NOW)
    assert result.verdicts == [Verdict.CLEARED]


def test_check_shows_a_lone_weak_alias_as_corroborating() -> None:
    """txscreen check lists a lone weak-alias match with the rule corroborating (it blocks nothing)."""
    hits = check_text("ZOH", _automaton(), field_name="creditor.name")
    assert [(h.entity_id, h.rule) for h in hits] == [("t:1", HitRule.CORROBORATING.value)]
