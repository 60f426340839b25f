"""The rescreen transform and the window flags, with a recording producer instead of Kafka."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import jsonschema
import orjson
import pytest
from confluent_kafka import Message

from matchers.allowlist import entity_hashes
from matchers.automaton import NameAutomaton
from matchers.sources import load_watchlists
from schemas.decisions import AllowEntry, Scope
from schemas.errors import ConfigError
from schemas.records import decode_blocked
from streams.allowlist import Allowlist
from streams.cli.rescreen import parse_duration, parse_timestamp
from streams.headers import ALLOWLISTED, RESCREEN, WATCHLIST_VERSION, last_header
from streams.settings import Topics
from streams.worker.rescreener import RescreenTransform
from tests.unit.streams.fakes import RecordingProducer

TOPICS = Topics("in", "ok", "stop", "bad")
OLD = "sha256:" + "0" * 64
SCHEMA = Path(__file__).resolve().parents[4] / "schemas" / "blocked_record.v1.schema.json"


@pytest.fixture(scope="module")
def automaton() -> NameAutomaton:
    return NameAutomaton(load_watchlists(["builtin"]))


def cleared(offset: int, creditor: str, version: str | None) -> Message:
    value = orjson.dumps(
        {
            "id": f"p-{offset}",
            "created_at": "2020-10-01T10:00:00Z",
            "amount": "10.00",
            "currency": "USD",
            "debtor": {"name": "Jane Doe"},
            "creditor": {"name": creditor},
        }
    )
    headers = [("trace", b"t")]
    if version is not None:
        headers += [
            (WATCHLIST_VERSION, version.encode()),
            ("txscreen-screened-at", b"2020-10-01T10:00:01.000Z"),
        ]
    return Message(
        topic="ok", partition=0, offset=offset, key=f"p-{offset}".encode(), value=value, headers=headers
    )


class FollowedAllowlist:
    """Stands in for the allowlist follower: an :class:`Allowlist` and a check that passes."""

    def __init__(self, allowlist: Allowlist) -> None:
        self.allowlist = allowlist

    def check(self) -> None:
        pass


def test_an_active_allowlist_entry_keeps_a_covered_event_from_being_blocked_again(
    automaton: NameAutomaton,
) -> None:
    """Rescreen applies the allowlist as the worker does: the covered event writes nothing, the other
    event hitting the same entity is still blocked, and the count says so."""
    batch = [cleared(1, "TikTok", OLD), cleared(2, "TikTok Pte", OLD)]
    plain = RecordingProducer()
    RescreenTransform(automaton, TOPICS)(batch)(plain)  # type: ignore[arg-type]
    assert [r["key"] for r in plain.records] == [b"p-1", b"p-2"]  # without an entry: both blocked again
    entity = decode_blocked(plain.records[0]["value"]).hits[0].entity_id
    hashes = entity_hashes(automaton.watchlists)
    entry = AllowEntry(
        entry_id="al-1", entity_id=entity, name="tiktok", scope=Scope.CREDITOR, reason="known",
        valid_until="2999-01-01T00:00:00Z", entity_hash=hashes[entity], proposed_by="alice",
        proposed_at="2020-01-01T00:00:00Z", approved_by=["bob"], approved_at="2020-01-01T00:00:00Z",
    )  # fmt: skip
    follower = FollowedAllowlist(Allowlist([entry], hashes=hashes))
    producer = RecordingProducer()
    counts = RescreenTransform(automaton, TOPICS, follower)(batch)(producer)  # type: ignore[arg-type]
    assert counts == {"rescreened": 2, "newly-blocked": 1, "allowlisted": 1, "current": 0}
    (record,) = producer.records
    assert record["key"] == b"p-2"
    assert last_header(record["headers"], ALLOWLISTED) is None


def test_only_new_hits_of_older_versions_are_written_with_the_marker(automaton: NameAutomaton) -> None:
    """A hit cleared under an old version is blocked with header and marker; current-version and clean
    records, and hits already screened by the current version, produce nothing."""
    batch = [
        cleared(1, "TikTok", OLD),  # cleared under an older version, a hit now
        cleared(2, "Acme Trading Ltd.", OLD),  # older, still clean
        cleared(3, "TikTok", automaton.version),  # already screened by the current version
        cleared(4, "WeChat Pay", None),  # no version header: treated as older
    ]
    producer = RecordingProducer()
    counts = RescreenTransform(automaton, TOPICS)(batch)(producer)  # type: ignore[arg-type]
    assert counts == {"rescreened": 3, "newly-blocked": 2, "allowlisted": 0, "current": 1}
    first, second = producer.records
    assert (first["topic"], first["key"]) == ("stop", b"p-1")
    assert last_header(first["headers"], RESCREEN) == f"{OLD} -> {automaton.version}".encode()
    assert last_header(second["headers"], RESCREEN) == f"unknown -> {automaton.version}".encode()
    assert last_header(first["headers"], WATCHLIST_VERSION) == automaton.version.encode()
    record = decode_blocked(first["value"])
    assert record.rescreen is not None
    assert (record.rescreen.previous_version, record.rescreen.cleared_at) == (OLD, "2020-10-01T10:00:01.000Z")
    assert record.source == {"topic": "ok", "partition": 0, "offset": 1}
    jsonschema.validate(orjson.loads(first["value"]), orjson.loads(SCHEMA.read_bytes()))


def test_window_flags_parse_durations_and_timestamps() -> None:
    """--since takes 30m, 2h, 1d12h; --from an RFC 3339 timestamp with an offset; anything else is refused."""
    assert parse_duration("1d12h") == timedelta(hours=36)
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_timestamp("2026-11-30T08:00:00Z").utcoffset() == timedelta(0)
    for bad in ("", "2x", "h", "0s", "5 apples"):
        with pytest.raises(ConfigError):
            parse_duration(bad)
    with pytest.raises(ConfigError):
        parse_timestamp("2026-11-30T08:00:00")
