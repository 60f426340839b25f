"""The build cache: a start-up's pure-Python build work kept on disk for the next start-up.

Loading the bundled lists and building the automaton takes seconds of Python work (parsing the lists,
every name's searchable forms, the fuzzy tier's anchors, the native triage's fold table). All of it
depends only on the lists' bytes and on txscreen's code, so :func:`load_or_build` keeps it in one file
under the cache folder (``--build-cache`` / ``TXSCREEN_BUILD_CACHE``; default
``$XDG_CACHE_HOME/txscreen``, else ``~/.cache/txscreen``) and the next start-up with the same lists
reads it back instead. The native engine's built key search is kept too, where it is a double array (lists
of up to ``matchers._native.DOUBLE_ARRAY_KEY_BYTES`` of keys: its ``to_bytes``, about 15 MB for the
bundled lists, read back in milliseconds instead of ~0.5 s of build); a larger list keeps its keys, and
the search is built from them. The fuzzy index is built from the file's forms and anchors either way.

The file's key is a SHA-256 over the bytes of every list file (a folder source: every file in it), the
sources as given, txscreen's version, every ``.py``, ``.tsv`` and ``.txt`` file of :mod:`matchers` (the
code and the anchor gram table that derive the keys, the corpus the search's layout is profiled on),
Python's and its Unicode database's versions, the build options (fuzzy on/off, the fuzzy lists) and the
engine (native or pure). One file per set of sources, options and engine; a change to any input is a
miss, and the rebuild replaces the file.

Fail closed: the cache can only make a start-up faster, never change what it loads. A missing, short,
corrupt or mismatching file is ignored and rebuilt: the file holds the key and a SHA-256 of each of its
two parts, checked before anything is read from them, and only the classes a build holds may be
unpickled. It is written atomically (a temporary file, then ``os.replace``), in a folder only the user
can read; a folder that cannot be written leaves the start-up as it is (one line says so).

Layout: ``MAGIC``, the 32-byte key, then for each part its length (8 bytes) and SHA-256 (32 bytes), then
the parts: the built search's bytes, or the keys with the index of the first that is only a fuzzy
anchor (so that the engine's key search starts building on a worker thread while the second part is
read), then the watchlists, the rest of
:class:`matchers.automaton.Prepared` and the native triage's tables, and the fold's tables
(:mod:`matchers.built_tables`: about 0.4 s of Python a start-up, or its first batch, no longer spends).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import mmap
import os
import pickle
import struct
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import IO, Any, Final

import matchers
from matchers import built_tables
from matchers.automaton import FuzzyTarget, NameAutomaton, PendingSearch, Prepared, Target, prepare
from matchers.backend import engine
from matchers.fuzzy import FuzzyForm
from matchers.normalize import native_fold_table, simple_kinds
from matchers.sources import BUILTIN, BUILTIN_PATH, load_watchlists
from matchers.sources.ofac import EXTRACT_PREFIX
from matchers.watchlist import Entity, ListedName, Watchlist
from streams.cli.version import version

MAGIC: Final = b"txscreen build cache 2\n"
#: Cache files kept in a folder (the most recently used); a file per set of sources and options.
KEEP: Final = 8
#: A temporary file older than this is a crashed writer's, removed when the folder is pruned.
STALE_TEMP_SECONDS: Final = 3600
_PART: Final = struct.Struct("<Q32s")
_HEADER: Final = len(MAGIC) + 32 + 2 * _PART.size
#: Runs on the loaded lists before the build (it may raise, e.g. a ConfigError).
Check = Callable[[Sequence[Watchlist]], None]

#: The only classes a cache file may hold (anything else is a corrupt file: rebuilt).
_ALLOWED: Final = frozenset(
    {
        ("matchers.watchlist", "Watchlist"),
        ("matchers.watchlist", "Entity"),
        ("matchers.watchlist", "ListedName"),
        ("matchers.watchlist", "EntityType"),
        ("matchers.watchlist", "NameStrength"),
        ("matchers.automaton", "Prepared"),
        ("matchers.automaton", "Target"),
        ("matchers.automaton", "FuzzyTarget"),
        ("matchers.fuzzy", "FuzzyForm"),
        ("matchers.policy", "MatchRule"),
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "timezone"),
        ("datetime", "timedelta"),
        ("array", "array"),
        ("array", "_array_reconstructor"),
    }
)


@dataclass(frozen=True, slots=True)
class Loaded:
    """What :func:`load_or_build` made: read back from the cache, or built (``note``: where it was
    cached, or why not)."""

    watchlists: tuple[Watchlist, ...]
    automaton: NameAutomaton
    from_cache: bool
    note: str = ""


def load_or_build(
    sources: Sequence[str],
    folder: Path | None,
    *,
    fuzzy: bool,
    fuzzy_lists: Sequence[str] | None,
    check: Check | None = None,
) -> Loaded:
    """The lists of ``sources`` and their automaton: from the cache file in ``folder`` when it holds this
    build, else loaded and built (and the file written). ``folder`` ``None``: no cache.

    ``check(watchlists)`` runs on the lists before the build (it may raise; nothing is written then).
    Raises what :func:`matchers.sources.load_watchlists` raises.
    """
    key = cache_key(sources, fuzzy=fuzzy, fuzzy_lists=fuzzy_lists) if folder is not None else None
    path = None
    if folder is not None and key is not None:
        path = folder / f"build-{_options_digest(sources, fuzzy, fuzzy_lists)}.bin"
    if path is not None and key is not None:
        found = _read(path, key, fuzzy=fuzzy, fuzzy_lists=fuzzy_lists, check=check)
        if found is not None:
            return found
    watchlists = load_watchlists(sources)
    if check is not None:
        check(watchlists)
    if path is None or key is None:
        automaton = NameAutomaton(watchlists, fuzzy=fuzzy, fuzzy_lists=fuzzy_lists)
        why = "no cache folder" if folder is None else "a source is not a readable file or folder"
        return Loaded(watchlists, automaton, False, f"not cached: {why}")
    prepared = prepare(watchlists, fuzzy=fuzzy, fuzzy_lists=fuzzy_lists)
    prepared.keys = [k.encode("utf-8") if isinstance(k, str) else k for k in prepared.keys]
    using = engine()  # the engine the file is for (in its name): the automaton is built on it
    prepared.tables = (simple_kinds(), native_fold_table()) if using.native else None
    saves_search = (
        using.search_from_bytes is not None and sum(map(len, prepared.keys)) <= using.saved_search_keys
    )
    # Pickled before the automaton consumes the build (it extends the targets, takes the keys); the file is
    # published only once the build succeeded. The built search is written when it loads back faster than
    # it builds (the native one), else the keys.
    rest = _Pickled(_pickled((watchlists, replace(prepared, keys=[]), built_tables.built())))
    options: dict[str, Any] = {"fuzzy": fuzzy, "fuzzy_lists": fuzzy_lists, "prepared": prepared}
    options["using"] = using
    try:
        temp = None if saves_search else _write_temp(path, key, (prepared.exact_keys, prepared.keys), rest)
    except OSError as exc:
        automaton = NameAutomaton(watchlists, **options)
        return Loaded(watchlists, automaton, False, f"not cached: {path.parent}: {exc.strerror or exc}")
    try:
        automaton = NameAutomaton(watchlists, **options)
    except BaseException:
        if temp is not None:
            temp.unlink(missing_ok=True)
        raise
    try:
        if temp is None:
            temp = _write_temp(path, key, automaton.search_bytes(), rest)
        os.replace(temp, path)
    except OSError as exc:
        if temp is not None:
            temp.unlink(missing_ok=True)
        return Loaded(watchlists, automaton, False, f"not cached: {path.parent}: {exc.strerror or exc}")
    _prune(path.parent)
    return Loaded(watchlists, automaton, False, f"cached in {path}")


def _prune(folder: Path) -> None:
    """Keep the :data:`KEEP` most recently used cache files of ``folder`` (each set of sources has its own:
    dated list folders would otherwise pile up), and no temporary file a crashed writer left an hour ago."""
    try:
        files = sorted(folder.glob("build-*.bin"), key=lambda f: f.stat().st_mtime, reverse=True)
        for stale in files[KEEP:]:
            stale.unlink(missing_ok=True)
        for temp in folder.glob(".build-*.tmp"):
            if time.time() - temp.stat().st_mtime > STALE_TEMP_SECONDS:
                temp.unlink(missing_ok=True)
    except OSError:  # another start-up pruning at the same time, or a read-only folder: next time
        return


# --- the key ----------------------------------------------------------------------------------------------


def cache_key(sources: Sequence[str], *, fuzzy: bool, fuzzy_lists: Sequence[str] | None) -> bytes | None:
    """The SHA-256 key of a build (see the module docstring); ``None`` when a source cannot be read."""
    digest = hashlib.sha256(MAGIC)
    for part in (version(), sys.version, unicodedata.unidata_version, _code_digest()):
        digest.update(part.encode() + b"\0")
    digest.update(_options_digest(sources, fuzzy, fuzzy_lists).encode())
    for src in sources:
        files = _source_files(src)
        if files is None:
            return None
        digest.update(f"source {src}\0{len(files)}\0".encode())
        for file in files:
            try:
                data = file.read_bytes()
            except OSError:
                return None
            digest.update(f"{file.name}\0{len(data)}\0".encode())
            digest.update(data)
    return digest.digest()


def _options_digest(sources: Sequence[str], fuzzy: bool, fuzzy_lists: Sequence[str] | None) -> str:
    """Names the file of one set of sources and options, and the engine (16 hex digits): the native engine
    keeps its built search, which the pure one cannot read."""
    lists = "*" if fuzzy_lists is None else ",".join(sorted(set(fuzzy_lists)))
    text = "\0".join([*sources, f"fuzzy={fuzzy}", f"lists={lists}", f"engine={engine().name}"])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _source_files(src: str) -> list[Path] | None:
    """The files a source may read, sorted (a folder: every file in it); ``None`` when there is none."""
    if src == BUILTIN:
        return [BUILTIN_PATH]
    path = Path(src.removeprefix(EXTRACT_PREFIX))
    try:
        if path.is_dir():
            return sorted(p for p in path.iterdir() if p.is_file())
        return [path] if path.is_file() else None
    except OSError:
        return None


_code: str | None = None


def _code_digest() -> str:
    """SHA-256 over the code and data of :mod:`matchers` that derive a build (computed once)."""
    global _code  # noqa: PLW0603 - the files do not change while the process runs
    if _code is None:
        root = Path(matchers.__file__).resolve().parent
        digest = hashlib.sha256()
        for file in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".tsv", ".txt") and p.is_file()):
            digest.update(f"{file.relative_to(root)}\0".encode())
            digest.update(file.read_bytes())
        _code = digest.hexdigest()
    return _code


# --- reading and writing ------------------------------------------------------------------------------------


class _Unpickler(pickle.Unpickler):
    """Unpickles only the classes a build holds."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a build cache")
        return super().find_class(module, name)


def _read(
    path: Path, key: bytes, *, fuzzy: bool, fuzzy_lists: Sequence[str] | None, check: Check | None
) -> Loaded | None:
    """The build in the cache file at ``path`` if it is whole and holds ``key``; else ``None``."""
    try:
        with path.open("rb") as handle:
            spans = _checked_parts(handle, key)
            if spans is None:
                return None
            # Read from the open file: a writer never changes a file in place (os.replace), so this is
            # the file whose parts were just checked.
            handle.seek(spans[0])
            first = _Unpickler(handle).load()
            if handle.tell() != spans[1]:
                return None
            using = engine()
            if isinstance(first, bytes) and using.search_from_bytes is not None:
                search = PendingSearch.ready(using, using.search_from_bytes(first))
            elif isinstance(first, tuple) and len(first) == 2 and isinstance(first[1], list):
                anchors_from, keys = first  # the keys, and the first that is only an anchor
                search = PendingSearch(using, keys, anchors_from if isinstance(anchors_from, int) else None)
            else:
                return None
            watchlists, prepared, tables = _Unpickler(handle).load()
            if (
                not (
                    isinstance(prepared, Prepared)
                    and isinstance(watchlists, tuple)
                    and isinstance(tables, dict)
                )
                or handle.tell() != spans[2]
            ):
                return None
        built_tables.seed(tables)  # the fold's tables, unless this process built them already
        if check is not None:
            check(watchlists)
        automaton = NameAutomaton(
            watchlists, fuzzy=fuzzy, fuzzy_lists=fuzzy_lists, prepared=prepared, search=search
        )
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError, IndexError):
        return None
    with contextlib.suppress(OSError):  # most recently used (for _prune); a read-only folder is fine
        os.utime(path)
    return Loaded(watchlists, automaton, True)


def _checked_parts(handle: IO[bytes], key: bytes) -> tuple[int, int, int] | None:
    """Where the two parts start and end, if the file holds ``key`` and both parts match their SHA-256."""
    size = os.fstat(handle.fileno()).st_size
    if size < _HEADER:
        return None
    with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        if mapped[: len(MAGIC)] != MAGIC or mapped[len(MAGIC) : len(MAGIC) + 32] != key:
            return None
        bounds = [_HEADER]
        for i in range(2):
            length, digest = _PART.unpack_from(mapped, len(MAGIC) + 32 + i * _PART.size)
            start = bounds[-1]
            if start + length > size:
                return None
            with memoryview(mapped) as view, view[start : start + length] as part:
                matches = hashlib.sha256(part).digest() == digest
            if not matches:
                return None
            bounds.append(start + length)
    if bounds[-1] != size:
        return None
    return bounds[0], bounds[1], bounds[2]


def _write_temp(path: Path, key: bytes, first: tuple[int, list[bytes]] | bytes | None, rest: object) -> Path:
    """Write the cache file beside ``path`` under a temporary name (streamed: no copy in memory)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".build-", suffix=".tmp", dir=path.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(MAGIC + key + bytes(2 * _PART.size))
            sizes = [_dump(handle, first), _dump(handle, rest)]
            handle.seek(len(MAGIC) + 32)
            handle.write(b"".join(_PART.pack(*size) for size in sizes))
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


#: The classes whose instances the cache holds by the hundred thousand: pickled as a call with their fields
#: (a frozen dataclass's own state restore looks its fields up for every object: measured 5× slower).
_BY_FIELDS: Final = {
    cls: tuple(f.name for f in fields(cls))
    for cls in (Watchlist, Entity, ListedName, Target, FuzzyTarget, FuzzyForm)
}


class _Pickler(pickle.Pickler):
    """Pickles the classes of :data:`_BY_FIELDS` as a call with their fields."""

    def reducer_override(self, obj: Any) -> Any:
        names = _BY_FIELDS.get(type(obj))
        if names is None:
            return NotImplemented
        return type(obj), tuple(getattr(obj, name) for name in names)


class _Hashing(io.RawIOBase):
    """A write-through file that counts and hashes what passes."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.size, self.digest = out, 0, hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.out.write(view)
        self.digest.update(view)
        self.size += view.nbytes
        return view.nbytes


class _Pickled(bytes):
    """A value pickled already (written as it is)."""


def _pickled(value: object) -> bytes:
    """``value`` pickled as :func:`_dump` pickles it."""
    out = io.BytesIO()
    _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return out.getvalue()


def _dump(handle: IO[bytes], value: object) -> tuple[int, bytes]:
    """Pickle ``value`` into ``handle`` (a :class:`_Pickled` value as it is): its size and SHA-256."""
    hashing = _Hashing(handle)
    if isinstance(value, _Pickled):
        hashing.write(value)
    else:
        _Pickler(hashing, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return hashing.size, hashing.digest.digest()
