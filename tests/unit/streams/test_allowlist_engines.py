"""Every engine applies the allowlist the same way: the worker, the Faust engine and the file runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from confluent_kafka import Message

from matchers.allowlist import entity_hashes
from matchers.automaton import NameAutomaton
from matchers.normalize import fold
from schemas.decisions import AllowEntry, Scope, encode_allow_entry
from streams.allowlist import Allowlist, read_export
from streams.faust.app import BatchScreener
from streams.file_runner import FileRunSettings, run_file
from streams.headers import ALLOWLISTED, VERDICT, last_header
from streams.settings import Topics
from streams.worker.screener import ScreeningTransform
from tests.unit.streams.fakes import RecordingProducer

TOPICS = Topics("in", "ok", "stop", "bad")


class _Follower:
    """What the worker's transform reads of its allowlist follower."""

    def __init__(self, allowlist: Allowlist) -> None:
        self.allowlist = allowlist

    def check(self) -> None:
        pass


@pytest.fixture
def allowlist(default_automaton: NameAutomaton) -> Allowlist:
    """One approved entry covering TikTok Pte. Ltd. as a creditor, valid for a year."""
    hashes = entity_hashes(default_automaton.watchlists)
    entry = AllowEntry(
        entry_id="al-tiktok",
        entity_id="us-eo-2020:bytedance",
        name=fold("TikTok Pte. Ltd."),
        scope=Scope.CREDITOR,
        reason="licensed",
        valid_until="2099-01-01T00:00:00Z",
        entity_hash=hashes["us-eo-2020:bytedance"],
        proposed_by="a",
        proposed_at="2026-01-01T00:00:00Z",
        approved_by=["b"],
        approved_at="2026-01-01T00:00:01Z",
    )
    return Allowlist([entry], hashes)


def test_worker_faust_and_file_runner_clear_the_covered_event_alike(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes], allowlist: Allowlist, tmp_path: Path
) -> None:
    """The covered event is cleared with txscreen-allowlisted by every engine; the other one is blocked."""
    covered = make_event(event_id="p-1", creditor="TikTok Pte. Ltd.")
    uncovered = make_event(event_id="p-2", debtor="TikTok Pte. Ltd.")
    values = [covered, uncovered]
    kafka = [Message(topic="in", partition=0, offset=i, key=None, value=v) for i, v in enumerate(values)]
    faust: list[Any] = [
        SimpleNamespace(topic="in", partition=0, offset=i, key=None, value=v, headers=None)
        for i, v in enumerate(values)
    ]
    producer = RecordingProducer()
    ScreeningTransform(default_automaton, TOPICS, _Follower(allowlist))(kafka)(producer)  # type: ignore[arg-type]
    _result, records = BatchScreener(None, default_automaton, TOPICS, allowlist).screen(faust)  # type: ignore[arg-type]
    for sent in (producer.records, [r._asdict() for r in records]):
        assert [r["topic"] for r in sent] == ["ok", "stop"]
        assert sent[0]["value"] == covered
        assert last_header(sent[0]["headers"], ALLOWLISTED) == b"al-tiktok"
        assert last_header(sent[0]["headers"], VERDICT) == b"cleared"
        assert last_header(sent[1]["headers"], ALLOWLISTED) is None
    export = tmp_path / "allow.jsonl"
    export.write_bytes(b"".join(encode_allow_entry(e) + b"\n" for e in allowlist.entries()))
    source = tmp_path / "in.jsonl"
    source.write_bytes(covered + b"\n" + uncovered + b"\n")
    summary = run_file(
        FileRunSettings(str(source), tmp_path / "out"),
        default_automaton,
        allowlist=Allowlist(read_export(export), allowlist.hashes),
    )
    assert (summary.cleared, summary.blocked) == (1, 1)
    assert (tmp_path / "out" / "cleared.jsonl").read_bytes() == covered + b"\n"
    blocked = orjson.loads((tmp_path / "out" / "blocked.jsonl").read_bytes())
    assert blocked["event"]["id"] == "p-2"
