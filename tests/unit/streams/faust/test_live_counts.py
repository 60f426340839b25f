"""The live counts the Faust engine's web view shows, and their page."""

from __future__ import annotations

from collections.abc import Callable

from matchers.automaton import NameAutomaton
from matchers.screening import screen_batch
from streams.faust.live_counts import LiveCounts, list_summary, render_html


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_counts_follow_delivered_batches_with_hits_per_list(
    default_automaton: NameAutomaton, make_event: Callable[..., bytes]
) -> None:
    """Screened, cleared, blocked, dead-lettered and hits per list add up over batches; rate is busy time."""
    clock = Clock()
    counts = LiveCounts(
        default_automaton.version,
        list_summary(default_automaton.watchlists),
        labels={"engine": "faust"},
        clock=clock,
    )
    first = screen_batch(
        [make_event(), make_event(creditor="TikTok Pte. Ltd."), b"not json"], default_automaton
    )
    counts.batch_started()
    clock.now = 52.0
    counts.record(first)
    second = screen_batch([make_event(creditor="Banco Nacional de Cuba")], default_automaton)
    clock.now = 54.0
    counts.record(second)

    snapshot = counts.snapshot()
    assert snapshot["engine"] == "faust"
    kinds = ("screened", "cleared", "blocked", "dead_lettered")
    assert [snapshot[kind] for kind in kinds] == [4, 1, 2, 1]
    assert snapshot["hits_by_list"]["us-eo-2020"] >= 1
    assert snapshot["hits_by_list"]["ofac-sdn"] >= 1
    assert sum(snapshot["hits_by_list"].values()) == sum(
        len(h) for r in (first, second) for h in r.hits.values()
    )
    assert snapshot["batches"] == 2
    assert snapshot["events_per_second"] == 1.0  # 4 events in the 4 s from the first batch to the last
    assert snapshot["watchlist_version"] == default_automaton.version
    assert [wl["list"] for wl in snapshot["watchlists"]] == [
        wl.list_id for wl in default_automaton.watchlists
    ]
    assert snapshot["last_batch_at"] == second.screened_at


def test_a_fresh_snapshot_has_zero_counts_and_no_last_batch() -> None:
    """Before any batch: every count is 0, the rate 0 and the last batch unknown."""
    snapshot = LiveCounts("sha256:0").snapshot()
    assert (
        snapshot["screened"] == snapshot["cleared"] == snapshot["blocked"] == snapshot["dead_lettered"] == 0
    )
    assert snapshot["hits_by_list"] == {}
    assert snapshot["events_per_second"] == 0.0
    assert snapshot["last_batch_at"] is None


def test_the_page_shows_every_value_escaped() -> None:
    """The HTML page lists each snapshot entry (numbers grouped, lists and mappings spelled out), escaped."""
    page = render_html(
        {
            "screened": 12345,
            "hits_by_list": {"ofac-sdn": 2},
            "outputs": ["a.cleared", "a.blocked"],
            "watchlists": [{"list": "<script>", "entities": 3}],
            "last_batch_at": None,
        }
    )
    assert "<th>screened</th><td>12,345</td>" in page
    assert "ofac-sdn: 2" in page
    assert "a.cleared; a.blocked" in page
    assert "&lt;script&gt;" in page
    assert "<script>" not in page
    assert "<th>hits by list</th>" in page
    assert "http-equiv='refresh'" in page
