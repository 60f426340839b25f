"""The ``/allowlist`` router: propose, approve, revoke, list and export good-guy entries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from schemas.decisions import Scope, encode_allow_entry
from streams.review.auth import CurrentUser, Service

router = APIRouter(prefix="/allowlist", tags=["allowlist"])


class EntryBody(BaseModel):
    """A proposed allowlist entry."""

    model_config = ConfigDict(extra="forbid")

    entity_id: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=500)
    account: str | None = Field(default=None, max_length=200)
    scope: Scope = Scope.ANY
    valid_until: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=2000)


class ReasonBody(BaseModel):
    """Why (an approval's reason may be empty)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=2000)


@router.get("")
def list_entries(service: Service, user: CurrentUser) -> dict[str, Any]:
    """Every entry with its status: pending, active, void (with the reason) or revoked."""
    return {"entries": service.list_entries()}


@router.get("/export")
def export(service: Service, user: CurrentUser) -> Response:
    """The approved, unrevoked entries as JSON Lines (for ``txscreen screen --allowlist FILE``)."""
    body = b"".join(encode_allow_entry(e) + b"\n" for e in service.export_entries())
    return Response(body, media_type="application/x-ndjson")


@router.post("")
def propose(body: EntryBody, service: Service, user: CurrentUser) -> dict[str, Any]:
    """Propose an entry; it applies once a different approver approved it."""
    return service.propose_entry(
        user,
        entity_id=body.entity_id,
        name=body.name,
        account=body.account,
        scope=body.scope,
        valid_until=body.valid_until,
        reason=body.reason,
    )


@router.post("/{entry_id}/approve")
def approve(entry_id: str, body: ReasonBody, service: Service, user: CurrentUser) -> dict[str, Any]:
    """Approve an entry (not the proposer; the approver role)."""
    return service.approve_entry(entry_id, user, body.reason)


@router.post("/{entry_id}/revoke")
def revoke(entry_id: str, body: ReasonBody, service: Service, user: CurrentUser) -> dict[str, Any]:
    """Revoke an entry: it stops applying at once."""
    return service.revoke_entry(entry_id, user, body.reason)
