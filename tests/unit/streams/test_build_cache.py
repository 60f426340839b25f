"""The build cache: a start-up read back from it loads what a cold build loads, and never anything else."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import os
import pickle
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from matchers import backend
from matchers.automaton import NameAutomaton
from matchers.normalize import fold_batch
from matchers.screening import screen_batch
from matchers.sources import BUILTIN_PATH, DEFAULT_SOURCES
from streams import build_cache
from streams.build_cache import Loaded, load_or_build
from streams.lists import load_automaton
from streams.loadgen.synthetic import EventFactory
from streams.settings import FuzzyChoice, add_fuzzy_arguments, build_cache_folder

NOW = datetime(2021, 1, 5, 12, tzinfo=UTC)


def _load(sources: list[str], folder: Path | None, *, fuzzy: bool = True) -> Loaded:
    return load_or_build(sources, folder, fuzzy=fuzzy, fuzzy_lists=None)


def _same_automaton(cold: NameAutomaton, warm: NameAutomaton) -> None:
    """Every key of ``warm`` stands for what it stands for in ``cold``, with the same fuzzy anchors."""
    assert (warm.version, warm.key_count, warm.name_count) == (cold.version, cold.key_count, cold.name_count)
    assert (warm.anchor_count, warm.fuzzy_name_count) == (cold.anchor_count, cold.fuzzy_name_count)
    for index in range(cold.key_count):
        assert warm.targets_of(index) == cold.targets_of(index)
        assert warm.anchors_of(index) == cold.anchors_of(index)
        assert warm.anchor_uses(index) == cold.anchor_uses(index)
    for form_id in range(len(cold._fuzzy_targets)):
        assert warm.fuzzy_target(form_id) == cold.fuzzy_target(form_id)


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Loaded, Loaded, Loaded]:
    """The bundled lists built without a cache, built into an empty cache, and read back from it."""
    folder = tmp_path_factory.mktemp("cache")
    plain = _load(list(DEFAULT_SOURCES), None)
    written = _load(list(DEFAULT_SOURCES), folder)
    read = _load(list(DEFAULT_SOURCES), folder)
    return plain, written, read


def test_a_cache_hit_loads_the_same_keys_targets_and_anchors(bundled: tuple[Loaded, Loaded, Loaded]) -> None:
    """Read back from the cache, the bundled lists' automaton has the cold build's keys, targets, anchors."""
    _, written, read = bundled
    assert not written.from_cache
    assert "cached in" in written.note
    assert read.from_cache
    assert read.watchlists == written.watchlists
    _same_automaton(written.automaton, read.automaton)


def test_a_cache_hit_gives_the_same_verdicts_and_records(bundled: tuple[Loaded, Loaded, Loaded]) -> None:
    """Events screened by the automaton read back from the cache get the cold build's records, bytewise."""
    plain, _, read = bundled
    factory = EventFactory(plain.watchlists, seed=5, listed_share=0.3)
    raws = list(factory.stream(3000))
    cold = screen_batch(raws, plain.automaton, NOW)
    warm = screen_batch(raws, read.automaton, NOW)
    assert cold.blocked > 100  # the listed names (exact and not) are found
    assert warm.verdicts == cold.verdicts
    assert warm.values == cold.values


@pytest.fixture
def small_list(tmp_path: Path) -> Path:
    """A copy of the built-in list that a test may change."""
    copy = tmp_path / "lists" / "us-eo-2020.yaml"
    copy.parent.mkdir()
    shutil.copy(BUILTIN_PATH, copy)
    return copy


def _cache_file(folder: Path) -> Path:
    files = list(folder.glob("build-*.bin"))
    assert len(files) == 1
    return files[0]


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: data[:-1],  # one byte short
        lambda data: data[:300] + bytes([data[300] ^ 0xFF]) + data[301:],  # one byte flipped in the keys
        lambda data: data[:-50] + bytes([data[-50] ^ 0x01]) + data[-49:],  # one bit flipped in the lists
        lambda data: b"",  # empty
        lambda data: b"not a cache file at all" * 10,  # garbage
        lambda data: data + b"\0",  # a byte too many
    ],
    ids=["truncated", "one-byte-short", "keys-flipped", "lists-flipped", "empty", "garbage", "trailing"],
)
def test_a_damaged_cache_file_is_rebuilt(small_list: Path, tmp_path: Path, damage: object) -> None:
    """A truncated, corrupt, empty or foreign cache file is ignored: the lists are built again, the same."""
    folder = tmp_path / "cache"
    first = _load([str(small_list)], folder)
    path = _cache_file(folder)
    assert callable(damage)
    path.write_bytes(damage(path.read_bytes()))
    again = _load([str(small_list)], folder)
    assert not again.from_cache
    _same_automaton(first.automaton, again.automaton)
    assert _load([str(small_list)], folder).from_cache  # rewritten whole


def _native() -> backend.Engine:
    native = backend.native_engine()
    if native is None:
        pytest.skip("the native fast path is not built")
    return native


def _cold_then_warm(
    source: Path, folder: Path, monkeypatch: pytest.MonkeyPatch, native: backend.Engine, key_search: object
) -> tuple[Loaded, Loaded]:
    """The list built into ``folder`` on ``native``, then read back on ``native`` with ``key_search``."""
    monkeypatch.setattr(build_cache, "engine", lambda: native)
    cold = _load([str(source)], folder)
    monkeypatch.setattr(build_cache, "engine", lambda: dataclasses.replace(native, key_search=key_search))
    warm = _load([str(source)], folder)
    assert warm.from_cache
    _same_automaton(cold.automaton, warm.automaton)
    return cold, warm


def test_a_warm_start_reads_the_native_search_back_and_builds_none(
    small_list: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The native engine's cache file keeps the built search: read back, it finds what the cold one did."""

    def no_build(keys: object, **options: object) -> backend.KeySearcher:
        raise AssertionError("the key search was built again")

    cold, warm = _cold_then_warm(small_list, tmp_path / "cache", monkeypatch, _native(), no_build)
    batch = fold_batch(["payment to TikTok", "Tencent Holdings Ltd.", "WeChat"]).encode()
    assert len(warm.automaton.find_keys(batch)) >= 3
    assert warm.automaton.find_keys(batch) == cold.automaton.find_keys(batch)


def test_a_list_too_large_to_keep_its_search_keeps_its_keys(
    small_list: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the engine's saved_search_keys the file keeps the keys, and a warm start-up builds the search."""
    native = dataclasses.replace(_native(), saved_search_keys=0)
    builds = []

    def counted(keys: Iterable[bytes], **options: object) -> backend.KeySearcher:
        builds.append(1)
        return native.key_search(keys, **options)

    _cold_then_warm(small_list, tmp_path / "cache", monkeypatch, native, counted)
    assert builds == [1]


def test_each_engine_keeps_its_own_file(
    small_list: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pure engine never reads the native engine's file (whose search it cannot load), nor the reverse."""
    native = _native()
    folder = tmp_path / "cache"
    monkeypatch.setattr(build_cache, "engine", lambda: native)
    assert not _load([str(small_list)], folder).from_cache
    monkeypatch.setattr(build_cache, "engine", lambda: backend.PURE)
    assert not _load([str(small_list)], folder).from_cache
    assert _load([str(small_list)], folder).from_cache
    assert len(list(folder.glob("build-*.bin"))) == 2


def test_a_changed_list_is_a_miss(small_list: Path, tmp_path: Path) -> None:
    """A list file changed since the cache was written is loaded anew, with its new names."""
    folder = tmp_path / "cache"
    assert not _load([str(small_list)], folder).from_cache
    assert _load([str(small_list)], folder).from_cache
    text = small_list.read_text(encoding="utf-8")
    small_list.write_text(text.replace("      - TikTok\n", "      - TikTok\n      - Quartermaine Holdings\n"))
    changed = _load([str(small_list)], folder)
    assert not changed.from_cache
    names = {n.text for wl in changed.watchlists for e in wl.entities for n in e.names}
    assert "Quartermaine Holdings" in names
    event = (
        b'{"id":"1","created_at":"2021-01-05T00:00:00Z","amount":"1.00","currency":"EUR",'
        b'"debtor":{"name":"Quartermaine Holdings"},"creditor":{"name":"Northwind"}}'
    )
    assert screen_batch([event], changed.automaton, NOW).blocked == 1


def test_code_options_and_version_are_in_the_key(small_list: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key changes with the fuzzy options, txscreen's code and its version."""
    sources = [str(small_list)]
    key = build_cache.cache_key(sources, fuzzy=True, fuzzy_lists=None)
    assert key == build_cache.cache_key(sources, fuzzy=True, fuzzy_lists=None)
    assert key != build_cache.cache_key(sources, fuzzy=False, fuzzy_lists=None)
    assert key != build_cache.cache_key(sources, fuzzy=True, fuzzy_lists=["us-eo-2020"])
    monkeypatch.setattr(build_cache, "_code", "another matchers")
    assert key != build_cache.cache_key(sources, fuzzy=True, fuzzy_lists=None)
    monkeypatch.undo()
    monkeypatch.setattr(build_cache, "version", lambda: "99.0")
    assert key != build_cache.cache_key(sources, fuzzy=True, fuzzy_lists=None)


def test_fuzzy_options_keep_their_own_files(small_list: Path, tmp_path: Path) -> None:
    """A build with the fuzzy tier off never reads the file of a build with it on (and the other way)."""
    folder = tmp_path / "cache"
    on = _load([str(small_list)], folder)
    off = _load([str(small_list)], folder, fuzzy=False)
    assert not off.from_cache
    assert not off.automaton.fuzzy
    assert off.automaton.anchor_count == 0
    assert _load([str(small_list)], folder).from_cache
    assert on.automaton.anchor_count > 0


def test_a_foreign_class_in_a_cache_file_is_refused(small_list: Path, tmp_path: Path) -> None:
    """A cache file whose checksums hold but which pickles anything but a build's classes is not unpickled."""
    folder = tmp_path / "cache"
    _load([str(small_list)], folder)
    path = _cache_file(folder)
    key = path.read_bytes()[len(build_cache.MAGIC) : len(build_cache.MAGIC) + 32]
    evil = pickle.dumps(argparse.Namespace(x=1))  # any class outside the allowed few
    handle = io.BytesIO()
    handle.write(build_cache.MAGIC + key + bytes(2 * build_cache._PART.size))
    sizes = []
    for part in (evil, evil):
        start = handle.tell()
        handle.write(part)
        sizes.append(build_cache._PART.pack(handle.tell() - start, hashlib.sha256(part).digest()))
    handle.seek(len(build_cache.MAGIC) + 32)
    handle.write(b"".join(sizes))
    path.write_bytes(handle.getvalue())
    loaded = _load([str(small_list)], folder)
    assert not loaded.from_cache
    assert loaded.automaton.key_count > 0


def test_an_unwritable_cache_folder_only_costs_the_cache(small_list: Path, tmp_path: Path) -> None:
    """A cache folder that cannot be made leaves the start-up as it is and says why it is not cached."""
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    loaded = _load([str(small_list)], blocker / "cache")
    assert not loaded.from_cache
    assert loaded.note.startswith("not cached")
    assert loaded.automaton.key_count > 0


def test_the_start_up_line_says_built_or_loaded_from_the_cache(small_list: Path, tmp_path: Path) -> None:
    """load_automaton reports whether the lists and automaton were built or read back from the cache."""
    choice = FuzzyChoice(cache=tmp_path / "cache")
    first, second = io.StringIO(), io.StringIO()
    load_automaton([str(small_list)], fuzzy=choice, report=first)
    load_automaton([str(small_list)], fuzzy=choice, report=second)
    assert "lists and automaton built in" in first.getvalue()
    assert "lists and automaton loaded from the build cache in" in second.getvalue()


def test_the_build_cache_setting(tmp_path: Path) -> None:
    """--build-cache off|DIR, else TXSCREEN_BUILD_CACHE, else $XDG_CACHE_HOME/txscreen, ~/.cache/txscreen."""
    parser = argparse.ArgumentParser()
    add_fuzzy_arguments(parser)
    none = parser.parse_args([])
    assert build_cache_folder(none, {"XDG_CACHE_HOME": "/x", "HOME": "/h"}) == Path("/x/txscreen")
    assert build_cache_folder(none, {"HOME": "/h"}) == Path("/h/.cache/txscreen")
    assert build_cache_folder(none, {}) is None
    assert build_cache_folder(none, {"TXSCREEN_BUILD_CACHE": "off", "HOME": "/h"}) is None
    assert build_cache_folder(none, {"TXSCREEN_BUILD_CACHE": str(tmp_path)}) == tmp_path
    given = parser.parse_args(["--build-cache", "OFF"])
    assert build_cache_folder(given, {"TXSCREEN_BUILD_CACHE": str(tmp_path)}) is None


def test_the_cache_folder_keeps_the_most_recently_used_files(tmp_path: Path) -> None:
    """Each set of sources has its own file; the folder keeps the few most recently used and no stale
    temporary file, so dated list folders do not pile up."""
    folder = tmp_path / "cache"
    sources = []
    for day in range(build_cache.KEEP + 3):
        listed = tmp_path / f"lists-{day}" / "us-eo-2020.yaml"
        listed.parent.mkdir()
        shutil.copy(BUILTIN_PATH, listed)
        sources.append(str(listed))
    stale = folder / ".build-crashed.tmp"
    for day, source in enumerate(sources):
        _load([source], folder)
        if day == 0:  # a writer that crashed long ago
            stale.write_bytes(b"half a file")
            os.utime(stale, (0, 0))
    assert len(list(folder.glob("build-*.bin"))) == build_cache.KEEP
    assert not stale.exists()
    assert _load([sources[-1]], folder).from_cache
    assert not _load([sources[0]], folder).from_cache  # pruned, built again
