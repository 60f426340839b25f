"""txscreen loadgen without a broker: JSON Lines output, determinism, shares, ids, and the rate limiter."""

from __future__ import annotations

import io
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from matchers.automaton import NameAutomaton
from matchers.screening import screen_batch
from matchers.watchlist import Watchlist
from schemas.records import Verdict
from streams.cli import main
from streams.loadgen.generator import (
    Chunk,
    EventSource,
    FileSink,
    LoadPlan,
    LoadProgress,
    TokenBucket,
    event_key,
    generate,
)
from streams.loadgen.synthetic import EventFactory, TrafficProfile


class FakeClock:
    """A monotonic clock that only moves when someone sleeps (or a test advances it)."""

    def __init__(self, oversleep: float = 0.0) -> None:
        self.now = 100.0
        self.oversleep = oversleep
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds + self.oversleep
        self.slept += seconds + self.oversleep


class ListSink:
    """Collects what it is sent."""

    def __init__(self) -> None:
        self.records: Chunk = []
        self.closed = False

    def send(self, chunk: Chunk) -> None:
        self.records.extend(chunk)

    def close(self) -> None:
        self.closed = True


def _source(lists: tuple[Watchlist, ...], *, pool: int, seed: int = 1, **shares: float) -> EventSource:
    return EventSource(EventFactory(lists, seed=seed, **shares), pool)


def test_loadgen_writes_json_lines_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--out FILE writes --count events, one JSON object a line, each with its own pay-<n> id."""
    out = tmp_path / "events.jsonl"
    assert main(["loadgen", "--count", "1500", "--pool", "400", "--out", str(out), "--seed", "3"]) == 0
    lines = out.read_bytes().splitlines()
    assert len(lines) == 1500
    ids = [orjson.loads(line)["id"] for line in lines]
    assert ids == [f"pay-{n:010d}" for n in range(1, 1501)]
    err = capsys.readouterr().err
    assert "loadgen: 1,500 events" in err
    assert "\r" not in err  # no progress bar when stderr is not a terminal


def test_loadgen_output_is_screenable_by_txscreen_screen(tmp_path: Path) -> None:
    """What loadgen writes, txscreen screen reads: every line lands in exactly one output file."""
    events = tmp_path / "events.jsonl"
    main(
        [
            "loadgen",
            "--count",
            "300",
            "--out",
            str(events),
            "--listed-share",
            "0.1",
            "--malformed-share",
            "0.1",
        ]
    )
    assert main(["screen", str(events), "--out", str(tmp_path / "out")]) == 0
    counts = [
        len((tmp_path / "out" / f).read_bytes().splitlines())
        for f in ("cleared.jsonl", "blocked.jsonl", "dlq.jsonl")
    ]
    assert sum(counts) == 300
    assert counts[1] > 0
    assert counts[2] > 0


def test_the_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    """Deterministic: two runs with one seed write identical files; another seed writes others."""
    paths = [tmp_path / f"{name}.jsonl" for name in ("a", "b", "c")]
    for path, seed in zip(paths, ("9", "9", "10"), strict=True):
        main(
            [
                "loadgen",
                "--count",
                "800",
                "--pool",
                "300",
                "--seed",
                seed,
                "--out",
                str(path),
                "--malformed-share",
                "0.05",
            ]
        )
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_listed_and_malformed_shares_are_roughly_the_asked_ones(
    default_lists: tuple[Watchlist, ...], default_automaton: NameAutomaton
) -> None:
    """About 4% of events carry a listed name and 3% are malformed, and the screener agrees."""
    source = _source(default_lists, pool=4000, listed_share=0.04, malformed_share=0.03)
    records = source.chunk(8000)  # twice the pool: the repeat keeps the shares
    assert 0.03 * 8000 <= source.listed <= 0.05 * 8000
    assert 0.02 * 8000 <= source.malformed <= 0.04 * 8000
    result = screen_batch([value for _, value in records], default_automaton)
    assert result.dead_lettered == source.malformed
    assert (
        abs(result.blocked - source.listed) <= 0.1 * source.listed
    )  # a few listed names are out of date range


def test_events_past_the_pool_repeat_it_under_new_unique_ids(default_lists: tuple[Watchlist, ...]) -> None:
    """Event n+pool is event n with the next id; every key is its event's id, and none repeats."""
    source = _source(default_lists, pool=50, malformed_share=0.1)
    records = source.chunk(70) + source.chunk(60)
    keys = [key for key, _ in records]
    assert keys == [event_key(i) for i in range(130)]
    assert len(set(keys)) == 130
    for (key, value), (_, template) in zip(records[50:], records, strict=False):
        if template.startswith(b'{"id":"'):
            assert orjson.loads(value)["id"] == key.decode()
            assert value.replace(key, b"") == template.replace(template[7:21], b"")
        else:
            assert value == template  # malformed inputs repeat as they are


def test_token_bucket_keeps_the_average_rate_despite_oversleeping() -> None:
    """Over many chunks the rate is the asked one even when every sleep overshoots by 3 ms."""
    clock = FakeClock(oversleep=0.003)
    bucket = TokenBucket(2000.0, 20, clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        bucket.take(20)  # 20,000 events at 2,000/s: 10 s less the first burst
    assert clock.now - 100.0 == pytest.approx(9.99, abs=0.01)


def test_token_bucket_lets_a_burst_through_without_sleeping() -> None:
    """A full bucket passes ``burst`` events at once; the next one waits 1/rate."""
    clock = FakeClock()
    bucket = TokenBucket(100.0, 10, clock=clock, sleep=clock.sleep)
    bucket.take(10)
    assert clock.slept == 0
    bucket.take(1)
    assert clock.slept == pytest.approx(0.01)


def test_generate_follows_the_rate_and_stops_at_the_count(default_lists: tuple[Watchlist, ...]) -> None:
    """5,000 events at 1,000/s take five seconds on the clock, sent in 10 ms chunks, then the sink closes."""
    clock = FakeClock()
    sink = ListSink()
    done = generate(
        _source(default_lists, pool=500),
        sink,
        LoadPlan(rate=1000, count=5000),
        clock=clock,
        sleep=clock.sleep,
    )
    assert done.events == len(sink.records) == 5000
    assert sink.closed
    assert done.seconds == pytest.approx(4.99, abs=0.02)
    assert done.rate == pytest.approx(1000, rel=0.01)


def test_generate_stops_after_the_duration(default_lists: tuple[Watchlist, ...]) -> None:
    """--duration 3 at 2,000/s sends about 6,000 events."""
    clock = FakeClock()
    done = generate(
        _source(default_lists, pool=500),
        ListSink(),
        LoadPlan(rate=2000, duration=3),
        clock=clock,
        sleep=clock.sleep,
    )
    assert 5990 <= done.events <= 6040


def test_file_sink_writes_one_line_per_value() -> None:
    """Values are written as lines, keys are not."""
    stream = io.BytesIO()
    sink = FileSink(stream)
    sink.send([(b"k1", b'{"a":1}'), (b"k2", b"oops")])
    sink.close()
    assert stream.getvalue() == b'{"a":1}\noops\n'


def test_progress_bar_draws_share_count_and_rate() -> None:
    """The bar shows the share done, events and rate on one redrawn line."""
    stream = io.StringIO()
    bar = LoadProgress(stream, count=1000, duration=None)
    bar.update(250, 0.5)
    bar.update(260, 0.6)  # too soon: not redrawn
    bar.close()
    text = stream.getvalue()
    assert text.count("\r") == 1
    assert "25%" in text
    assert "250 events, 500/s" in text


@pytest.mark.parametrize(
    "argv",
    [
        ["loadgen", "--listed-share", "1.5", "--out", "-"],
        ["loadgen", "--rate", "0", "--out", "-"],
        ["loadgen", "--count", "-3", "--out", "-"],
    ],
)
def test_bad_loadgen_flags_are_refused(argv: list[str]) -> None:
    """Shares outside 0..1 and non-positive rates or counts stop at the parser."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_rate_limited_chunks_are_about_ten_milliseconds() -> None:
    """With a rate, a chunk holds about 10 ms of events (at least one); without, a full-speed chunk."""
    assert LoadPlan(rate=50_000).chunk_size() == 500
    assert LoadPlan(rate=5).chunk_size() == 1
    assert LoadPlan().chunk_size() == 2000


def test_a_dead_letter_is_counted_as_malformed(default_lists: tuple[Watchlist, ...]) -> None:
    """Malformed inputs are counted as such (the verdict of each is a dead letter)."""
    source = _source(default_lists, pool=200, malformed_share=1.0)
    records = source.chunk(200)
    assert source.malformed == 200
    assert source.listed == 0
    verdicts = screen_batch([v for _, v in records], NameAutomaton(default_lists[:1])).verdicts
    assert set(verdicts) == {Verdict.DEAD_LETTER}


def _non_latin(text: str) -> bool:
    """True when a text holds a letter of a script other than Latin."""
    return any(c.isalpha() and not unicodedata.name(c, "").startswith("LATIN") for c in text)


def test_multilingual_profile_writes_about_40_percent_of_texts_in_other_scripts(tmp_path: Path) -> None:
    """--profile multilingual: about 40% of party and remittance texts in non-Latin scripts, ten of them."""
    out = tmp_path / "multi.jsonl"
    argv = ["loadgen", "--count", "3000", "--profile", "multilingual", "--seed", "5"]
    argv += ["--listed-share", "0"]
    assert main([*argv, "--out", str(out)]) == 0
    events = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    texts = [t for e in events for t in (e["debtor"]["name"], e["creditor"]["name"], e["remittance"])]
    share = sum(map(_non_latin, texts)) / len(texts)
    assert 0.35 < share < 0.45
    latin = [t for t in texts if not _non_latin(t)]
    assert sum(not t.isascii() for t in latin) / len(latin) > 0.5  # the rest is Latin with accents
    scripts = {unicodedata.name(c).split()[0] for t in texts for c in t if c.isalpha() and not c.isascii()}
    assert {
        "CYRILLIC",
        "GREEK",
        "ARABIC",
        "HEBREW",
        "CJK",
        "HIRAGANA",
        "HANGUL",
        "DEVANAGARI",
        "THAI",
    } <= scripts


def test_profiles_are_seeded_and_latin_is_the_default() -> None:
    """The same seed makes the same events in each profile; without a profile the traffic is the latin mix."""

    def run(**profile: TrafficProfile) -> list[bytes]:
        return list(EventFactory(seed=9, **profile).stream(300))

    multilingual = run(profile=TrafficProfile.MULTILINGUAL)
    assert run() == run(profile=TrafficProfile.LATIN)
    assert multilingual == run(profile=TrafficProfile.MULTILINGUAL)
    assert multilingual != run()


def test_multilingual_clean_traffic_clears(default_lists: tuple[Watchlist, ...]) -> None:
    """Multilingual events with no planted name are all cleared by the screening core (no false positive)."""
    factory = EventFactory(default_lists, seed=4, listed_share=0.0, profile=TrafficProfile.MULTILINGUAL)
    result = screen_batch(
        list(factory.stream(2000)), NameAutomaton(default_lists), datetime(2021, 1, 1, tzinfo=UTC)
    )
    assert set(result.verdicts) == {Verdict.CLEARED}
