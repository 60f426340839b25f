"""The review service's rules: four-eyes decisions on cases and allowlist entries, each write one transaction.

Every write goes through :meth:`ReviewService.decide` or the allowlist methods, under one lock, on
the state rebuilt from the topics: the rules read the case's decisions, build the records of the
step (the decision, and for the executing approval the release or confirmation with its output),
write them in one transaction, and only then apply them to the state. So a decided case stays
decided; a repeated approval (a retry after a lost response, a second approver clicking at the same
moment) answers the same outcome and writes nothing.

Four-eyes: a release or confirmation needs a proposal by an analyst or approver, then approvals by
other users holding the approver role until ``approvals`` distinct users (the proposer included)
agreed; self-approval is refused. The same for an allowlist entry.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import msgspec
import orjson

from matchers.allowlist import parse_time, void_reason
from matchers.normalize import fold
from matchers.watchlist import Watchlist
from schemas.decisions import Action, AllowEntry, Decision, Scope, encode_allow_entry, encode_decision
from schemas.errors import TxscreenError
from schemas.records import blocked_event_bytes, timestamp
from streams.headers import (
    CASE,
    DECISION,
    RELEASED,
    SCREENED_AT,
    VERDICT,
    WATCHLIST_VERSION,
    Headers,
    own_headers,
)
from streams.review.config import ReviewSettings
from streams.review.lists import ServiceLists
from streams.review.state import (
    ALLOW_CASE_PREFIX,
    BlockedMessage,
    CaseView,
    EntryStatus,
    EntryView,
    ReviewState,
    Status,
    age_seconds,
    case_view,
    entry_view,
)
from streams.review.users import PROPOSERS, Role, User, Users
from streams.review.writer import ReviewRecord, TransactionalWriter
from streams.watchlists.follower import WatchlistFollower

log = logging.getLogger(__name__)


class CaseAction(StrEnum):
    """What a user may ask of a case."""

    PROPOSE_RELEASE = "propose-release"
    PROPOSE_CONFIRM = "propose-confirm"
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"


DECIDED = frozenset({Status.RELEASED, Status.CONFIRMED})


@dataclass(frozen=True, slots=True)
class _Step:
    """One user's step on one case, with what the rules read."""

    message: BlockedMessage
    decisions: list[Decision]
    view: CaseView
    reason: str
    user: User


class Refusal(TxscreenError):
    """A request the rules refuse: an HTTP status and one sentence."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _roles(user: User) -> str:
    return " and ".join(user.role_names)


class ReviewService:
    """Cases and allowlist entries: reads from the state, writes through the transactional writer."""

    def __init__(
        self,
        settings: ReviewSettings,
        state: ReviewState,
        *,
        writer: TransactionalWriter,
        users: Users,
        entity_hashes: dict[str, str],
        watchlist_version: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.topics = settings.kafka.topics
        self.state = state
        self.writer = writer
        self.users = users
        self.clock = clock
        self._lock = threading.Lock()
        #: The lists in use (names for the console, hashes for the allowlist), replaced whole by
        #: :meth:`use_lists` when the server follows the watchlist topic.
        self.lists = ServiceLists(watchlist_version, hashes=dict(entity_hashes))
        #: With ``--watchlist-topic``: the follower of the topic (the server sets it; readiness reads it).
        self.list_follower: WatchlistFollower | None = None

    def use_lists(self, lists: ServiceLists) -> None:
        """Use ``lists`` from the next request on (one reference assignment)."""
        previous = self.lists.version
        self.lists = lists
        if previous != lists.version:
            log.info("review service: lists %s replace %s", lists.version, previous)

    @property
    def hashes(self) -> Mapping[str, str]:
        """The listed entities' content hashes, by entity id, of the lists in use."""
        return self.lists.hashes

    @property
    def watchlist_version(self) -> str:
        """The version of the lists in use."""
        return self.lists.version

    @property
    def watchlists(self) -> tuple[Watchlist, ...]:
        """The lists in use."""
        return self.lists.watchlists

    # --- reading --------------------------------------------------------------------------------------

    def case_json(
        self, message: BlockedMessage, decisions: list[Decision], *, full: bool = False
    ) -> dict[str, Any]:
        """A case as the API shows it (``full`` adds the event and every decision)."""
        view = case_view(decisions)
        record = message.record
        body: dict[str, Any] = {
            "case_id": message.case_id,
            "event_id": message.event_id,
            "status": view.status.value,
            "hits": [
                {k: h.get(k) for k in ("entity_id", "list", "entity_name", "field", "matched_text", "rule")}
                for h in record.get("hits", [])
            ],
            "hits_total": record.get("hits_total"),
            "watchlist_version": message.watchlist_version,
            "screened_at": record.get("screened_at"),
            "age_seconds": round(age_seconds(message, self.clock()), 3),
            "age": str(timedelta(seconds=int(age_seconds(message, self.clock())))),
            "proposal": None
            if view.proposal is None
            else {
                "decision_id": view.proposal.decision_id,
                "action": view.proposal.action.value,
                "actor": view.proposal.actor,
                "reason": view.proposal.reason,
                "at": view.proposal.at,
            },
            "approvers": list(view.approvers),
            "outcome_decision": view.outcome.decision_id if view.outcome is not None else None,
        }
        if full:
            body["event"] = record.get("event")
            body["source"] = record.get("source")
            body["decisions"] = [orjson.loads(encode_decision(d)) for d in decisions]
        return body

    def list_cases(self, status: Status | None = None) -> list[dict[str, Any]]:
        """Every case (oldest first), or those with ``status``."""
        shown = [self.case_json(m, ds) for m, ds in self.state.cases()]
        return [c for c in shown if status is None or c["status"] == status.value]

    def get_case(self, case_id: str) -> dict[str, Any]:
        """One case with its event and decisions (Refusal 404 for an unknown case)."""
        found = self.state.case(case_id)
        if found is None:
            raise Refusal(404, f"there is no case {case_id}.")
        return self.case_json(*found, full=True)

    # --- deciding cases -------------------------------------------------------------------------------

    def _decision(
        self,
        action: Action,
        user: User,
        reason: str,
        *,
        case_id: str,
        event_id: str | None,
        watchlist_version: str,
        entity_ids: list[str],
        proposal_id: str | None = None,
        entry: AllowEntry | None = None,
    ) -> Decision:
        return Decision(
            decision_id=uuid.uuid4().hex,
            case_id=case_id,
            event_id=event_id,
            action=action,
            actor=user.name,
            roles=user.role_names,
            reason=reason,
            at=timestamp(self.clock()),
            watchlist_version=watchlist_version,
            entity_ids=entity_ids,
            proposal_id=proposal_id,
            entry=entry,
        )

    def _record(self, decision: Decision) -> ReviewRecord:
        return ReviewRecord(self.topics.decisions, decision.case_id.encode(), encode_decision(decision), [])

    def _commit(self, decisions: list[Decision], outputs: list[ReviewRecord]) -> None:
        """Write the decisions and outputs in one transaction, then apply the decisions to the state."""
        self.writer.write([*map(self._record, decisions), *outputs])
        for decision in decisions:
            self.state.add_decision(decision)
            log.info(
                "decision %s: %s %s by %s",
                decision.decision_id,
                decision.case_id,
                decision.action.value,
                decision.actor,
            )

    def decide(self, case_id: str, action: CaseAction, reason: str, user: User) -> dict[str, Any]:
        """Apply one user's step to a case; the outcome and the case (Refusal on a rule)."""
        with self._lock:
            found = self.state.case(case_id)
            if found is None:
                raise Refusal(404, f"there is no case {case_id}.")
            message, decisions = found
            outcome = self._decide(message, decisions, action, reason.strip(), user)
            found = self.state.case(case_id)
            assert found is not None
            return {"outcome": outcome, "case": self.case_json(*found)}

    def _decide(
        self, message: BlockedMessage, decisions: list[Decision], action: CaseAction, reason: str, user: User
    ) -> str:
        view = case_view(decisions)
        step = _Step(message, decisions, view, reason, user)
        if action in (CaseAction.PROPOSE_RELEASE, CaseAction.PROPOSE_CONFIRM):
            return self._propose(step, Action(action.value))
        if action is CaseAction.APPROVE:
            return self._approve(step)
        return self._return_to_queue(step, action)

    def _common(self, step: _Step) -> dict[str, Any]:
        message = step.message
        return {
            "case_id": message.case_id,
            "event_id": message.event_id,
            "watchlist_version": message.watchlist_version,
            "entity_ids": message.entity_ids,
        }

    def _propose(self, step: _Step, action: Action) -> str:
        user, view, case_id = step.user, step.view, step.message.case_id
        if not user.roles & PROPOSERS:
            raise Refusal(
                403,
                f"{user.name} ({_roles(user)}) may not propose: that needs the analyst or approver role.",
            )
        if view.status in DECIDED:
            raise Refusal(
                409, f"case {case_id} is already {view.status.value}; a decided case stays decided."
            )
        if view.proposal is not None:
            if view.proposal.actor == user.name and view.proposal.action is action:
                return "proposed"  # a repeated proposal: the same outcome, nothing written
            raise Refusal(
                409,
                f"case {case_id} already has a pending {view.proposal.action.value} by "
                f"{view.proposal.actor}; approve, reject or withdraw it first.",
            )
        if not step.reason:
            raise Refusal(400, "a proposal needs a reason.")
        self._commit([self._decision(action, user, step.reason, **self._common(step))], [])
        return "proposed"

    def _approve(self, step: _Step) -> str:
        user, view, case_id = step.user, step.view, step.message.case_id
        if not user.has(Role.APPROVER):
            raise Refusal(
                403, f"{user.name} ({_roles(user)}) may not approve: approving needs the approver role."
            )
        if view.status in DECIDED:
            return view.status.value  # the same outcome, never a second release
        proposal = view.proposal
        if proposal is None:
            raise Refusal(409, f"case {case_id} has no pending proposal to approve.")
        if proposal.actor == user.name:
            kind = proposal.action.value.removeprefix("propose-")
            raise Refusal(
                403, f"four-eyes: {user.name} proposed this {kind}; a different approver must approve it."
            )
        if user.name in view.approvers:
            return "approved"
        common = self._common(step)
        approve = self._decision(
            Action.APPROVE, user, step.reason, proposal_id=proposal.decision_id, **common
        )
        if 1 + len(view.approvers) + 1 < self.settings.approvals:
            self._commit([approve], [])
            return "approved"
        releasing = proposal.action is Action.PROPOSE_RELEASE
        final = self._decision(
            Action.RELEASE if releasing else Action.CONFIRM,
            user,
            proposal.reason,
            proposal_id=proposal.decision_id,
            **common,
        )
        if releasing:
            output = self._released(step.message, final)
        else:
            output = self._confirmed(step.message, [*step.decisions, approve, final], final)
        self._commit([approve, final], [output])
        return "released" if releasing else "confirmed"

    def _return_to_queue(self, step: _Step, action: CaseAction) -> str:
        user, proposal, case_id = step.user, step.view.proposal, step.message.case_id
        if proposal is None:
            raise Refusal(409, f"case {case_id} has no pending proposal to {action.value}.")
        if not step.reason:
            raise Refusal(400, f"to {action.value} a proposal needs a reason.")
        if action is CaseAction.REJECT:
            if not user.has(Role.APPROVER):
                raise Refusal(
                    403, f"{user.name} ({_roles(user)}) may not reject: rejecting needs the approver role."
                )
            if proposal.actor == user.name:
                raise Refusal(403, f"{user.name} proposed this; withdraw it instead of rejecting it.")
        elif proposal.actor != user.name:
            raise Refusal(403, f"only {proposal.actor}, who proposed it, can withdraw this proposal.")
        kind = Action.REJECT if action is CaseAction.REJECT else Action.WITHDRAW
        decision = self._decision(
            kind, user, step.reason, proposal_id=proposal.decision_id, **self._common(step)
        )
        self._commit([decision], [])
        return "rejected" if kind is Action.REJECT else "withdrawn"

    def _released(self, message: BlockedMessage, final: Decision) -> ReviewRecord:
        """The released event: its original bytes, key and headers, to the cleared topic."""
        record = message.record
        extra: Headers = [
            (VERDICT, RELEASED.encode()),
            (WATCHLIST_VERSION, message.watchlist_version.encode()),
            (SCREENED_AT, str(record.get("screened_at", "")).encode()),
            (CASE, message.case_id.encode()),
            (DECISION, final.decision_id.encode()),
        ]
        headers, _dropped = own_headers(message.headers, list(extra))
        return ReviewRecord(
            self.topics.cleared, message.key, blocked_event_bytes(message.value), list(headers)
        )

    def _confirmed(self, message: BlockedMessage, decisions: list[Decision], final: Decision) -> ReviewRecord:
        """The confirmed true match: the blocked record and the deciding decisions, to the confirmed topic."""
        deciding = [orjson.loads(encode_decision(d)) for d in decisions]
        value = (
            orjson.dumps({"case_id": message.case_id})[:-1]
            + b',"blocked":'
            + message.value
            + b',"decisions":'
            + orjson.dumps(deciding)
            + b"}"
        )
        extra = [
            (VERDICT, b"confirmed"),
            (CASE, message.case_id.encode()),
            (DECISION, final.decision_id.encode()),
        ]
        headers, _dropped = own_headers(message.headers, list(extra))
        return ReviewRecord(self.topics.confirmed, message.key, value, list(headers))

    # --- the allowlist --------------------------------------------------------------------------------

    def entry_json(self, view: EntryView) -> dict[str, Any]:
        """An entry as the API shows it: its fields, status (void with the reason) and approvers."""
        body: dict[str, Any] = orjson.loads(encode_allow_entry(view.entry))
        status, why = view.status, None
        if status is EntryStatus.ACTIVE:
            why = void_reason(view.entry, self.clock(), self.hashes)
            status = EntryStatus.VOID if why is not None else status
        body.update(
            status=status.value,
            void_reason=why,
            approvers=list(view.approvers),
            revoked_by=view.revoked.actor if view.revoked is not None else None,
            revoke_reason=view.revoked.reason if view.revoked is not None else None,
        )
        return body

    def _entries(self) -> dict[str, EntryView]:
        views = {eid: entry_view(ds) for eid, ds in self.state.entry_decisions().items()}
        return {eid: v for eid, v in views.items() if v is not None}

    def list_entries(self) -> list[dict[str, Any]]:
        """Every allowlist entry, oldest proposal first."""
        views = sorted(self._entries().values(), key=lambda v: v.proposal.at)
        return [self.entry_json(v) for v in views]

    def export_entries(self) -> list[AllowEntry]:
        """The approved entries that are not revoked (the screeners check expiry and hashes themselves)."""
        return [v.entry for v in self._entries().values() if v.status is EntryStatus.ACTIVE]

    def _entry(self, entry_id: str) -> EntryView:
        view = self._entries().get(entry_id)
        if view is None:
            raise Refusal(404, f"there is no allowlist entry {entry_id}.")
        return view

    def propose_entry(
        self,
        user: User,
        *,
        entity_id: str,
        name: str | None,
        account: str | None,
        scope: Scope,
        valid_until: str,
        reason: str,
    ) -> dict[str, Any]:
        """Propose an allowlist entry (it applies only once approved)."""
        if not user.roles & PROPOSERS:
            raise Refusal(
                403,
                f"{user.name} ({_roles(user)}) may not propose: that needs the analyst or approver role.",
            )
        lists = self.lists  # one version for the hash and the id recorded, even across a swap
        entity_hash = lists.hashes.get(entity_id)
        if entity_hash is None:
            raise Refusal(400, f"entity {entity_id} is not in the lists the service loaded.")
        folded = fold(name).strip() if name and name.strip() else None
        account = account.strip() if account and account.strip() else None
        if folded is None and account is None:
            raise Refusal(400, "an allowlist entry needs a name or an account to cover.")
        if not reason.strip():
            raise Refusal(400, "an allowlist entry needs a reason.")
        now = self.clock()
        try:
            until = parse_time(valid_until)
        except ValueError:
            raise Refusal(
                400, f"valid_until must be a date or an RFC 3339 time, not {valid_until!r}."
            ) from None
        if until <= now:
            raise Refusal(400, f"valid_until {valid_until} is not in the future.")
        if until > now + timedelta(days=self.settings.allow_max_days):
            raise Refusal(400, f"valid_until may be at most {self.settings.allow_max_days} days ahead.")
        entry = AllowEntry(
            entry_id="al-" + uuid.uuid4().hex[:12],
            entity_id=entity_id,
            name=folded,
            account=account,
            scope=scope,
            reason=reason.strip(),
            valid_until=timestamp(until),
            entity_hash=entity_hash,
            proposed_by=user.name,
            proposed_at=timestamp(now),
        )
        with self._lock:
            decision = self._decision(
                Action.ALLOW_PROPOSE,
                user,
                entry.reason,
                case_id=ALLOW_CASE_PREFIX + entry.entry_id,
                event_id=None,
                watchlist_version=lists.version,
                entity_ids=[entity_id],
                entry=entry,
            )
            self._commit([decision], [])
            return {"outcome": "proposed", "entry": self.entry_json(self._entry(entry.entry_id))}

    def approve_entry(self, entry_id: str, user: User, reason: str) -> dict[str, Any]:
        """Approve an entry; the approval that completes four-eyes writes it to the allowlist topic."""
        if not user.has(Role.APPROVER):
            raise Refusal(
                403, f"{user.name} ({_roles(user)}) may not approve: approving needs the approver role."
            )
        with self._lock:
            view = self._entry(entry_id)
            if view.status is EntryStatus.REVOKED:
                raise Refusal(409, f"allowlist entry {entry_id} was revoked.")
            if view.status is EntryStatus.ACTIVE:
                return {"outcome": "approved", "entry": self.entry_json(view)}
            if view.entry.proposed_by == user.name:
                raise Refusal(
                    403,
                    f"four-eyes: {user.name} proposed allowlist entry {entry_id}; "
                    "a different approver must approve it.",
                )
            if user.name in view.approvers:
                return {"outcome": "approved", "entry": self.entry_json(view)}
            now = self.clock()
            if parse_time(view.entry.valid_until) <= now:
                raise Refusal(409, f"allowlist entry {entry_id} expired at {view.entry.valid_until}.")
            lists = self.lists  # one version for the hash and the id recorded, even across a swap
            current = lists.hashes.get(view.entry.entity_id)
            if current is None:
                raise Refusal(
                    409, f"entity {view.entry.entity_id} is no longer in the lists the service loaded."
                )
            approvers = [*view.approvers, user.name]
            complete = 1 + len(approvers) >= self.settings.approvals
            entry = msgspec.structs.replace(
                view.entry,
                approved_by=approvers,
                entity_hash=current,
                approved_at=timestamp(now) if complete else None,
            )
            decision = self._decision(
                Action.ALLOW_APPROVE,
                user,
                reason.strip(),
                case_id=ALLOW_CASE_PREFIX + entry_id,
                event_id=None,
                watchlist_version=lists.version,
                entity_ids=[entry.entity_id],
                entry=entry,
            )
            outputs = (
                [ReviewRecord(self.topics.allowlist, entry_id.encode(), encode_allow_entry(entry), [])]
                if complete
                else []
            )
            self._commit([decision], outputs)
            return {"outcome": "approved", "entry": self.entry_json(self._entry(entry_id))}

    def revoke_entry(self, entry_id: str, user: User, reason: str) -> dict[str, Any]:
        """Revoke an entry: a tombstone on the allowlist topic, in the transaction of its decision."""
        if not user.roles & PROPOSERS:
            raise Refusal(
                403,
                f"{user.name} ({_roles(user)}) may not revoke: revoking needs the analyst or approver role.",
            )
        if not reason.strip():
            raise Refusal(400, "a revoke needs a reason.")
        with self._lock:
            view = self._entry(entry_id)
            if view.status is EntryStatus.REVOKED:
                return {"outcome": "revoked", "entry": self.entry_json(view)}
            decision = self._decision(
                Action.ALLOW_REVOKE,
                user,
                reason.strip(),
                case_id=ALLOW_CASE_PREFIX + entry_id,
                event_id=None,
                watchlist_version=self.watchlist_version,
                entity_ids=[view.entry.entity_id],
                entry=view.entry,
            )
            tombstone = ReviewRecord(self.topics.allowlist, entry_id.encode(), None, [])
            self._commit([decision], [tombstone])
            return {"outcome": "revoked", "entry": self.entry_json(self._entry(entry_id))}
