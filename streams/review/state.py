"""The review state: cases and allowlist entries, rebuilt from the blocked and decisions topics.

The service keeps nothing of its own: every case is a blocked record (case id
``<blocked partition>-<blocked offset>``) plus the decisions recorded for it, in the decisions
topic's order (the decisions topic is keyed by case id, so one case's decisions are in one
partition). A case's status follows from its decisions alone (:func:`case_view`); so does an
allowlist entry's (:func:`entry_view`). Applying a record twice changes nothing (decisions are
kept by decision id), so the service can apply its own decisions at commit and again when the
follower reads them back.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from schemas.decisions import Action, AllowEntry, Decision

PROPOSALS = frozenset({Action.PROPOSE_RELEASE, Action.PROPOSE_CONFIRM})
#: The prefix of an allowlist entry's case id in the decisions topic.
ALLOW_CASE_PREFIX = "allow:"


class Status(StrEnum):
    """Where a case stands."""

    OPEN = "open"  # in the queue: no proposal pending
    PENDING = "pending"  # a proposal waits for approval
    RELEASED = "released"
    CONFIRMED = "confirmed"


class EntryStatus(StrEnum):
    """Where an allowlist entry stands."""

    PENDING = "pending"
    ACTIVE = "active"
    VOID = "void"
    REVOKED = "revoked"


@dataclass(slots=True)
class BlockedMessage:
    """A record of the blocked topic, as the service needs it to release or confirm it."""

    partition: int
    offset: int
    key: bytes | None
    headers: list[tuple[str, bytes | None]]
    value: bytes
    timestamp_ms: int
    record: dict[str, Any]

    @property
    def case_id(self) -> str:
        """``<partition>-<offset>`` in the blocked topic."""
        return f"{self.partition}-{self.offset}"

    @property
    def event_id(self) -> str | None:
        """The event's id."""
        event = self.record.get("event")
        value = event.get("id") if isinstance(event, dict) else None
        return value if isinstance(value, str) else None

    @property
    def entity_ids(self) -> list[str]:
        """The ids of the entities the event hit, in hit order, once each."""
        return list(dict.fromkeys(str(h.get("entity_id")) for h in self.record.get("hits", [])))

    @property
    def watchlist_version(self) -> str:
        """The version of the lists the event was screened against."""
        return str(self.record.get("watchlist_version", ""))


@dataclass(frozen=True, slots=True)
class CaseView:
    """A case's status, derived from its decisions."""

    status: Status
    proposal: Decision | None
    approvers: tuple[str, ...]
    outcome: Decision | None  # the release or confirm decision


def case_view(decisions: Sequence[Decision]) -> CaseView:
    """The status of a case whose decisions are ``decisions``, in order."""
    status, proposal, outcome = Status.OPEN, None, None
    approvers: list[str] = []
    for d in decisions:
        if status in (Status.RELEASED, Status.CONFIRMED):
            break
        if d.action in PROPOSALS and status is Status.OPEN:
            status, proposal, approvers = Status.PENDING, d, []
        elif d.action is Action.APPROVE and proposal is not None and d.proposal_id == proposal.decision_id:
            approvers.append(d.actor)
        elif d.action in (Action.REJECT, Action.WITHDRAW) and status is Status.PENDING:
            status, proposal, approvers = Status.OPEN, None, []
        elif d.action is Action.RELEASE:
            status, outcome = Status.RELEASED, d
        elif d.action is Action.CONFIRM:
            status, outcome = Status.CONFIRMED, d
    return CaseView(status, proposal, tuple(approvers), outcome)


@dataclass(frozen=True, slots=True)
class EntryView:
    """An allowlist entry's status, derived from its decisions."""

    entry: AllowEntry
    status: EntryStatus
    proposal: Decision
    approvers: tuple[str, ...]
    revoked: Decision | None


def entry_view(decisions: Sequence[Decision]) -> EntryView | None:
    """The allowlist entry its decisions describe (None without a proposal); void is decided by the caller."""
    proposal: Decision | None = None
    entry: AllowEntry | None = None
    approvers: list[str] = []
    status = EntryStatus.PENDING
    revoked = None
    for d in decisions:
        if d.action is Action.ALLOW_PROPOSE and proposal is None and d.entry is not None:
            proposal, entry = d, d.entry
        elif proposal is None or status is EntryStatus.REVOKED:
            continue
        elif d.action is Action.ALLOW_APPROVE and d.entry is not None:
            approvers.append(d.actor)
            if d.entry.approved_at:
                entry, status = d.entry, EntryStatus.ACTIVE
        elif d.action is Action.ALLOW_REVOKE:
            status, revoked = EntryStatus.REVOKED, d
    if proposal is None or entry is None:
        return None
    return EntryView(entry, status, proposal, tuple(approvers), revoked)


@dataclass(slots=True)
class ReviewState:
    """Every case and allowlist entry the topics hold; thread-safe (one lock)."""

    blocked: dict[str, BlockedMessage] = field(default_factory=dict)
    decisions: dict[str, list[Decision]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def add_blocked(self, message: BlockedMessage) -> None:
        """Add a blocked record (a new case)."""
        with self.lock:
            self.blocked[message.case_id] = message

    def add_decision(self, decision: Decision) -> bool:
        """Add a decision unless it is already known; whether it was new."""
        with self.lock:
            if decision.decision_id in self.seen:
                return False
            self.seen.add(decision.decision_id)
            self.decisions.setdefault(decision.case_id, []).append(decision)
            return True

    def case(self, case_id: str) -> tuple[BlockedMessage, list[Decision]] | None:
        """A case's blocked record and decisions, or None for an unknown case."""
        with self.lock:
            message = self.blocked.get(case_id)
            return None if message is None else (message, list(self.decisions.get(case_id, ())))

    def cases(self) -> list[tuple[BlockedMessage, list[Decision]]]:
        """Every case, oldest first."""
        with self.lock:
            items = [(m, list(self.decisions.get(m.case_id, ()))) for m in self.blocked.values()]
        return sorted(items, key=lambda item: (item[0].timestamp_ms, item[0].partition, item[0].offset))

    def entry_decisions(self) -> dict[str, list[Decision]]:
        """Every allowlist entry's decisions, by entry id."""
        with self.lock:
            return {
                case_id.removeprefix(ALLOW_CASE_PREFIX): list(ds)
                for case_id, ds in self.decisions.items()
                if case_id.startswith(ALLOW_CASE_PREFIX)
            }


def decode_blocked_message(
    *, partition: int, offset: int, key: bytes | None, headers: Any, value: bytes, timestamp_ms: int
) -> BlockedMessage | None:
    """A blocked topic record as a :class:`BlockedMessage` (None when it is not a blocked record)."""
    try:
        record = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("event"), dict):
        return None
    return BlockedMessage(partition, offset, key, list(headers or ()), value, timestamp_ms, record)


def age_seconds(message: BlockedMessage, now: datetime) -> float:
    """Seconds since the blocked record was written."""
    return max(0.0, now.timestamp() - message.timestamp_ms / 1000)
