"""The three txscreen headers and the topic of each verdict."""

from __future__ import annotations

from schemas.records import Verdict
from streams.headers import SCREENED_AT, VERDICT, WATCHLIST_VERSION, last_header, routes, verdict_headers
from streams.settings import Topics


def test_verdict_headers_name_verdict_version_and_time() -> None:
    """Every output carries txscreen-verdict, txscreen-watchlist-version and txscreen-screened-at."""
    assert verdict_headers(Verdict.DEAD_LETTER, "sha256:ab", "2026-01-01T00:00:00.000Z") == [
        ("txscreen-verdict", b"dead-letter"),
        ("txscreen-watchlist-version", b"sha256:ab"),
        ("txscreen-screened-at", b"2026-01-01T00:00:00.000Z"),
    ]
    assert (VERDICT, WATCHLIST_VERSION, SCREENED_AT) == (
        "txscreen-verdict",
        "txscreen-watchlist-version",
        "txscreen-screened-at",
    )


def test_each_verdict_routes_to_its_topic() -> None:
    """cleared → cleared topic, blocked → blocked topic, dead letter → DLQ, each with its verdict header."""
    table = routes(Topics("in", "ok", "stop", "bad"), "v1", "t")
    assert {verdict: topic for verdict, (topic, _) in table.items()} == {
        Verdict.CLEARED: "ok",
        Verdict.BLOCKED: "stop",
        Verdict.DEAD_LETTER: "bad",
    }
    assert table[Verdict.BLOCKED][1][0] == (VERDICT, b"blocked")


def test_last_header_takes_the_last_value_of_a_name() -> None:
    """An input screened before keeps its old header; the new one, appended after, is the one read."""
    headers: list[tuple[str, str | bytes | None]] = [
        ("trace", b"1"),
        (VERDICT, b"cleared"),
        (VERDICT, b"blocked"),
    ]
    assert last_header(headers, VERDICT) == b"blocked"
    assert last_header(headers, "missing") is None
    assert last_header(None, VERDICT) is None
