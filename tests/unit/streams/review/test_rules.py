"""Four-eyes on the server, without a broker: the service's rules over a fake transactional writer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from schemas.records import Hit, encode_blocked
from streams.headers import CASE, VERDICT
from streams.review.app import create_app
from streams.review.config import ReviewSettings
from streams.review.service import CaseAction, Refusal, ReviewService
from streams.review.state import ReviewState, decode_blocked_message
from streams.review.users import add_user, load_users
from streams.review.writer import ReviewRecord
from streams.settings import KafkaSettings

EVENT = (
    b'{"id":"ev-1","created_at":"2026-06-01T10:00:00Z","amount":"1.50","currency":"EUR",'
    b'"debtor":{"name":"J"},"creditor":{"name":"Globex"}}'
)


class FakeWriter:
    """Records each transaction instead of writing it."""

    def __init__(self) -> None:
        self.transactions: list[list[ReviewRecord]] = []

    def write(self, records: list[ReviewRecord]) -> None:
        self.transactions.append(list(records))

    def close(self) -> None:
        pass


def hit() -> Hit:
    return Hit(
        entity_id="l:globex",
        list_id="l",
        entity_name="Globex",
        entity_type="entity",
        matched_name="globex",
        field="creditor.name",
        start=0,
        end=6,
        matched_text="Globex",
        programs=[],
        rule="anywhere",
        in_force_at="both",
    )


@pytest.fixture
def setup(tmp_path: Path) -> tuple[ReviewService, FakeWriter, dict[str, Any]]:
    path = tmp_path / "users.yaml"
    roles = {"alice": ["analyst"], "bob": ["approver"], "carol": ["approver"], "vic": ["viewer"]}
    tokens = {name: add_user(path, name, granted) for name, granted in roles.items()}
    users = load_users(path)
    state = ReviewState()
    value = encode_blocked(EVENT, [hit()], "sha256:v", "2026-06-01T10:00:01.000Z", source={"topic": "p"})
    headers = [("trace", b"1"), ("txscreen-verdict", b"blocked")]
    state.add_blocked(decode_blocked_message(partition=0, offset=7, key=b"ev-1", headers=headers, value=value,
                                             timestamp_ms=0))  # type: ignore[arg-type]  # fmt: skip
    writer = FakeWriter()
    service = ReviewService(ReviewSettings(kafka=KafkaSettings(), approvals=2), state, writer=writer,  # type: ignore[arg-type]
                            users=users, entity_hashes={}, watchlist_version="sha256:v")  # fmt: skip
    return service, writer, {n: users.by_name[n] for n in tokens} | {"tokens": tokens}


def test_self_approval_analyst_approval_and_viewer_proposal_are_refused(setup: Any) -> None:
    """403 for each four-eyes or role violation, and nothing is written for them."""
    service, writer, u = setup
    with pytest.raises(Refusal) as viewer:
        service.decide("0-7", CaseAction.PROPOSE_RELEASE, "r", u["vic"])
    assert viewer.value.status == 403
    service.decide("0-7", CaseAction.PROPOSE_RELEASE, "r", u["bob"])
    for user in ("bob", "alice"):
        with pytest.raises(Refusal) as refused:
            service.decide("0-7", CaseAction.APPROVE, "", u[user])
        assert refused.value.status == 403
    assert len(writer.transactions) == 1


def test_the_approval_releases_the_original_bytes_once_in_one_transaction(setup: Any) -> None:
    """The executing approval writes approve + release decisions and the event, key and headers together."""
    service, writer, u = setup
    service.decide("0-7", CaseAction.PROPOSE_RELEASE, "known", u["alice"])
    assert service.decide("0-7", CaseAction.APPROVE, "", u["bob"])["outcome"] == "released"
    assert service.decide("0-7", CaseAction.APPROVE, "", u["carol"])["outcome"] == "released"
    assert len(writer.transactions) == 2
    approve, release, event = writer.transactions[1]
    assert [orjson.loads(r.value)["action"] for r in (approve, release)] == ["approve", "release"]
    assert event.value == EVENT
    assert event.key == b"ev-1"
    assert ("trace", b"1") in event.headers
    assert (VERDICT, b"released") in event.headers
    assert (CASE, b"0-7") in event.headers
    assert (VERDICT, b"blocked") not in event.headers


def test_more_approvals_need_more_distinct_approvers(setup: Any) -> None:
    """With --approvals 3 one approval is not enough; a repeated approval by the same user counts once."""
    service, writer, u = setup
    service.settings = ReviewSettings(approvals=3)
    service.decide("0-7", CaseAction.PROPOSE_CONFIRM, "true match", u["alice"])
    assert service.decide("0-7", CaseAction.APPROVE, "", u["bob"])["outcome"] == "approved"
    assert service.decide("0-7", CaseAction.APPROVE, "", u["bob"])["outcome"] == "approved"
    assert service.decide("0-7", CaseAction.APPROVE, "", u["carol"])["outcome"] == "confirmed"
    assert len(writer.transactions) == 3


def test_the_api_refuses_with_one_sentence(setup: Any) -> None:
    """401 without a token, 404 for an unknown case, 400 for malformed JSON, 413 for a big body."""
    service, _writer, u = setup
    client = TestClient(create_app(service))
    auth = {"Authorization": f"Bearer {u['tokens']['alice']}"}
    assert client.get("/cases").status_code == 401
    assert client.get("/cases/1-1", headers=auth).json() == {"detail": "there is no case 1-1."}
    bad = client.post(
        "/cases/0-7/decisions", content=b"{", headers={**auth, "Content-Type": "application/json"}
    )
    assert bad.status_code == 400
    assert client.post("/cases/0-7/decisions", content=b"x" * 100_000, headers=auth).status_code == 413
    listed = client.get("/cases", headers=auth)
    assert listed.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert listed.json()["cases"][0]["event_id"] == "ev-1"
