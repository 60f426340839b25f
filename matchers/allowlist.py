"""The good-guy allowlist, as pure functions: which hits an entry covers, and when an entry is void.

An approved entry covers the hits of one listed entity (``entity_id``) found in one party's fields
(``scope``: debtor, creditor or either), when that party's name, as folded, equals the entry's
``name`` and/or the party's account equals its ``account`` (both must agree when both are given).
A hit in the remittance text belongs to no party and is never covered.

An entry is *void*, and covers nothing, from the instant it expires (``valid_until``), when the
listed entity's content hash differs from the one recorded when the entry was made (a new list
version changed the entity), or when the entity is no longer listed. Revoked and unapproved entries
never reach this module: only approved entries are on the allowlist topic or in an export.

An event is cleared by the allowlist only when *every* hit is covered and every hit is known (a
blocked record that holds fewer hits than the event has is never cleared): fail closed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from matchers.normalize import fold
from matchers.screening import BatchResult
from matchers.watchlist import Watchlist
from schemas.decisions import AllowEntry, Scope
from schemas.records import Hit, Verdict

#: Hit fields and the party they belong to (the remittance belongs to none).
_PARTY_OF_FIELD: Final = {
    "debtor.name": "debtor",
    "creditor.name": "creditor",
    "debtor.agent.name": "debtor",
    "creditor.agent.name": "creditor",
}


def parse_time(text: str) -> datetime:
    """An RFC 3339 timestamp, or a date (``2026-12-31`` means the start of that day, UTC)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def entity_hashes(watchlists: Iterable[Watchlist]) -> dict[str, str]:
    """Every listed entity's content hash, by entity id."""
    return {e.id: e.content_hash() for wl in watchlists for e in wl.entities}


def void_reason(entry: AllowEntry, now: datetime, hashes: Mapping[str, str]) -> str | None:
    """Why ``entry`` does not apply at ``now`` against the lists of ``hashes``, or None when it applies."""
    if not entry.approved_at:
        return "it is not approved"
    if parse_time(entry.valid_until) <= now:
        return f"it expired at {entry.valid_until}"
    current = hashes.get(entry.entity_id)
    if current is None:
        return f"entity {entry.entity_id} is no longer listed"
    if current != entry.entity_hash:
        return f"entity {entry.entity_id} changed in the lists since the entry was made"
    return None


def active_entries(
    entries: Iterable[AllowEntry], now: datetime, hashes: Mapping[str, str]
) -> dict[str, list[AllowEntry]]:
    """The entries that apply at ``now``, by entity id."""
    active: dict[str, list[AllowEntry]] = {}
    for entry in entries:
        if void_reason(entry, now, hashes) is None:
            active.setdefault(entry.entity_id, []).append(entry)
    return active


def _party_text(event: Mapping[str, Any], field: str) -> tuple[str | None, str | None]:
    """The name in ``field`` and, for a party's own name, its account."""
    party = event.get(field.split(".", 1)[0])
    if not isinstance(party, Mapping):
        return None, None
    if field.endswith(".agent.name"):
        agent = party.get("agent")
        name = agent.get("name") if isinstance(agent, Mapping) else None
        return (name if isinstance(name, str) else None), None
    name, account = party.get("name"), party.get("account")
    return (name if isinstance(name, str) else None), (account if isinstance(account, str) else None)


def covers(entry: AllowEntry, hit: Hit, event: Mapping[str, Any]) -> bool:
    """Whether ``entry`` covers ``hit`` of ``event`` (the entry's dates and hash are not checked here)."""
    party = _PARTY_OF_FIELD.get(hit.field)
    if party is None or entry.entity_id != hit.entity_id:
        return False
    if entry.scope is not Scope.ANY and entry.scope.value != party:
        return False
    if entry.name is None and entry.account is None:
        return False
    name, account = _party_text(event, hit.field)
    if entry.name is not None and (name is None or fold(name) != entry.name):
        return False
    return entry.account is None or (account is not None and account == entry.account)


def covering(
    hits: Sequence[Hit], event: Mapping[str, Any], active: Mapping[str, Sequence[AllowEntry]]
) -> list[str] | None:
    """The ids of the entries that together cover every hit, or None when one hit is not covered."""
    used: dict[str, None] = {}
    for hit in hits:
        entry = next((e for e in active.get(hit.entity_id, ()) if covers(e, hit, event)), None)
        if entry is None:
            return None
        used[entry.entry_id] = None
    return list(used) if used else None


def apply_allowlist(
    result: BatchResult, raw_values: Sequence[bytes | None], active: Mapping[str, Sequence[AllowEntry]]
) -> tuple[BatchResult, dict[int, list[str]]]:
    """The batch with every blocked event whose hits are all covered cleared, and those events' entry ids.

    A cleared event's value becomes its original bytes, as for any cleared event.
    """
    if not active or not result.hits:
        return result, {}
    allowed: dict[int, list[str]] = {}
    for i, hits in result.hits.items():
        if result.hits_total.get(i, len(hits)) != len(hits) or not any(h.entity_id in active for h in hits):
            continue
        raw = raw_values[i]
        try:
            event = orjson.loads(raw) if raw is not None else None
        except orjson.JSONDecodeError:
            continue
        if not isinstance(event, dict):
            continue
        ids = covering(hits, event, active)
        if ids is not None:
            allowed[i] = ids
    if not allowed:
        return result, {}
    verdicts, values = list(result.verdicts), list(result.values)
    for i in allowed:
        verdicts[i] = Verdict.CLEARED
        values[i] = raw_values[i] or b""
    return (
        dataclasses.replace(
            result,
            verdicts=verdicts,
            values=values,
            hits={i: h for i, h in result.hits.items() if i not in allowed},
            hits_total={i: n for i, n in result.hits_total.items() if i not in allowed},
        ),
        allowed,
    )
