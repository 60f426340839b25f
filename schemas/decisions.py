"""Review records: the decision record (the decisions topic) and the allowlist entry (the allowlist topic).

Both are JSON objects described by ``decision_record.v1.schema.json`` and
``allowlist_entry.v1.schema.json``; these structs are their typed codecs. The decisions topic is the
audit log of the review service: every proposal, approval, refusal, release, confirmation and
allowlist change is one decision record. The allowlist topic is compacted, keyed by entry id, and
holds only approved entries (a revoke is a tombstone).
"""

from __future__ import annotations

from enum import StrEnum

import msgspec
from msgspec import Struct


class Action(StrEnum):
    """What one decision record says happened."""

    PROPOSE_RELEASE = "propose-release"
    PROPOSE_CONFIRM = "propose-confirm"
    APPROVE = "approve"
    REJECT = "reject"  # an approver refuses the proposal: the case returns to the queue
    WITHDRAW = "withdraw"  # the proposer takes the proposal back: the case returns to the queue
    RELEASE = "release"  # executed: the event went to the cleared topic in the same transaction
    CONFIRM = "confirm"  # executed: the blocked record went to the confirmed topic in the same transaction
    ALLOW_PROPOSE = "allow-propose"
    ALLOW_APPROVE = "allow-approve"
    ALLOW_REVOKE = "allow-revoke"


class Scope(StrEnum):
    """Which party of an event an allowlist entry covers."""

    DEBTOR = "debtor"
    CREDITOR = "creditor"
    ANY = "any"


class AllowEntry(Struct, kw_only=True, forbid_unknown_fields=True):
    """One good-guy allowlist entry: which hits of one listed entity it covers, until when."""

    entry_id: str
    entity_id: str
    #: The party name as folded (:func:`matchers.normalize.fold`), or None to cover any name.
    name: str | None = None
    #: The party's account, or None to cover any account. At least one of ``name`` and ``account``.
    account: str | None = None
    scope: Scope = Scope.ANY
    reason: str
    #: RFC 3339 UTC: the entry stops applying at this instant.
    valid_until: str
    #: :meth:`matchers.watchlist.Entity.content_hash` of the entity when the entry was proposed.
    entity_hash: str
    proposed_by: str
    proposed_at: str
    approved_by: list[str] = msgspec.field(default_factory=list)
    approved_at: str | None = None


class Decision(Struct, kw_only=True, forbid_unknown_fields=True):
    """One record of the decisions topic (the audit log)."""

    decision_id: str
    #: The case (``<blocked partition>-<blocked offset>``), or ``allow:<entry id>`` for an allowlist change.
    case_id: str
    event_id: str | None
    action: Action
    actor: str
    roles: list[str]
    reason: str
    at: str
    watchlist_version: str
    entity_ids: list[str]
    #: The allowlist entry proposed, approved or revoked (allowlist actions only).
    entry: AllowEntry | None = None
    #: For approve/reject/withdraw/release/confirm: the decision id of the proposal it answers.
    proposal_id: str | None = None


_decision_encoder = msgspec.json.Encoder()
decode_decision = msgspec.json.Decoder(Decision).decode
decode_allow_entry = msgspec.json.Decoder(AllowEntry).decode


def encode_decision(decision: Decision) -> bytes:
    """The decision record as JSON bytes."""
    return _decision_encoder.encode(decision)


def encode_allow_entry(entry: AllowEntry) -> bytes:
    """The allowlist entry as JSON bytes."""
    return _decision_encoder.encode(entry)
