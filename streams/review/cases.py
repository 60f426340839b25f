"""The ``/cases`` router: list and show cases, and decide them (propose, approve, reject, withdraw)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from streams.review.auth import CurrentUser, Service
from streams.review.service import CaseAction
from streams.review.state import Status

router = APIRouter(prefix="/cases", tags=["cases"])


class DecisionBody(BaseModel):
    """One step on a case."""

    model_config = ConfigDict(extra="forbid")

    action: CaseAction
    reason: str = Field(default="", max_length=2000)


@router.get("")
def list_cases(service: Service, user: CurrentUser, status: Status | None = None) -> dict[str, Any]:
    """Every case, oldest first, or those with ``status`` (open, pending, released, confirmed)."""
    return {"cases": service.list_cases(status)}


@router.get("/{case_id}")
def show_case(case_id: str, service: Service, user: CurrentUser) -> dict[str, Any]:
    """One case with its event, hits and every decision."""
    return service.get_case(case_id)


@router.post("/{case_id}/decisions")
def decide(case_id: str, body: DecisionBody, service: Service, user: CurrentUser) -> dict[str, Any]:
    """Propose a release or confirmation, approve, reject or withdraw a proposal (four-eyes on the server)."""
    return service.decide(case_id, body.action, body.reason, user)
