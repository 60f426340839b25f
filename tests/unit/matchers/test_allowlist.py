"""The allowlist rules: which hits an entry covers, when it is void, and what a batch becomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from matchers.allowlist import apply_allowlist, covering, entity_hashes, void_reason
from matchers.automaton import NameAutomaton
from matchers.screening import screen_batch
from matchers.sources import load_watchlists
from schemas.decisions import AllowEntry, Scope
from schemas.records import Verdict

LIST = Path(__file__).resolve().parents[2] / "data" / "txscreen_list" / "valid.yaml"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
AUTOMATON = NameAutomaton(load_watchlists([str(LIST)]))
HASHES = entity_hashes(AUTOMATON.watchlists)
GLOBEX = "acme-internal:globex"


def entry(entry_id: str = "al-1", **changes: object) -> AllowEntry:
    values: dict[str, object] = {
        "entry_id": entry_id,
        "entity_id": GLOBEX,
        "name": "globex corporation",
        "scope": Scope.CREDITOR,
        "reason": "known customer",
        "valid_until": "2026-12-31T00:00:00Z",
        "entity_hash": HASHES[GLOBEX],
        "proposed_by": "alice",
        "proposed_at": "2026-05-01T00:00:00Z",
        "approved_by": ["bob"],
        "approved_at": "2026-05-01T01:00:00Z",
        **changes,
    }
    return AllowEntry(**values)  # type: ignore[arg-type]


def event(creditor: str, *, debtor: str = "Jane Doe", account: str | None = None) -> bytes:
    party: dict[str, str] = {"name": creditor}
    if account:
        party["account"] = account
    body = {"id": "e", "created_at": "2026-06-01T10:00:00Z", "amount": "1", "currency": "EUR",
            "debtor": {"name": debtor}, "creditor": party}  # fmt: skip
    return orjson.dumps(body)


def screen(*events: bytes, entries: list[AllowEntry]) -> tuple[list[Verdict], dict[int, list[str]]]:
    result = screen_batch(list(events), AUTOMATON, NOW, lambda i: {"file": "t", "line": i})
    active = {e.entity_id: [e] for e in entries if void_reason(e, NOW, HASHES) is None}
    after, allowed = apply_allowlist(result, list(events), active)
    return after.verdicts, allowed


def test_an_active_entry_clears_an_event_whose_every_hit_it_covers() -> None:
    """The folded creditor name matches: the event is cleared and the entry id reported."""
    verdicts, allowed = screen(event("GLOBEX  Corporation"), entries=[entry()])
    assert verdicts == [Verdict.CLEARED]
    assert allowed == {0: ["al-1"]}


def test_a_second_uncovered_hit_keeps_the_event_blocked() -> None:
    """A debtor hit on another entity is not covered, so the event stays blocked."""
    verdicts, allowed = screen(event("Globex Corporation", debtor="SEA BREEZE"), entries=[entry()])
    assert verdicts == [Verdict.BLOCKED]
    assert allowed == {}


def test_scope_name_and_account_must_all_agree() -> None:
    """A creditor entry does not cover the debtor; an account entry needs that account."""
    assert screen(event("Jane Doe", debtor="Globex Corporation"), entries=[entry()])[0] == [Verdict.BLOCKED]
    by_account = entry(name=None, account="ACC-1", scope=Scope.ANY)
    assert screen(event("Globex Corporation", account="ACC-1"), entries=[by_account])[0] == [Verdict.CLEARED]
    assert screen(event("Globex Corporation", account="ACC-2"), entries=[by_account])[0] == [Verdict.BLOCKED]


def test_void_entries_cover_nothing_and_say_why() -> None:
    """Unapproved, expired and changed-entity entries are void, each with its reason."""
    assert void_reason(entry(approved_at=None), NOW, HASHES) == "it is not approved"
    expired = entry(valid_until=(NOW - timedelta(seconds=1)).isoformat())
    assert "expired" in (void_reason(expired, NOW, HASHES) or "")
    changed = entry(entity_hash="sha256:" + "0" * 64)
    assert "changed" in (void_reason(changed, NOW, HASHES) or "")
    for void in (entry(approved_at=None), expired, changed):
        assert screen(event("Globex Corporation"), entries=[void])[0] == [Verdict.BLOCKED]


def test_covering_lists_each_entry_once() -> None:
    """Two hits of one entity covered by one entry name it once."""
    result = screen_batch(
        [event("Globex Corporation Globex")], AUTOMATON, NOW, lambda i: {"file": "t", "line": i}
    )
    hits = result.hits.get(0, [])
    parsed = orjson.loads(event("Globex Corporation Globex"))
    assert covering(hits, parsed, {GLOBEX: [entry(name="globex corporation globex")]}) == ["al-1"]
