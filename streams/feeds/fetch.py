"""One ``txscreen lists fetch`` run: stage and verify every feed, then install them all, or none.

Each feed's files are downloaded into a staging folder inside ``--out`` (so that installing is a
rename on one file system), loaded with the reader ``--watchlist`` uses, and compared with the copy
already installed (:mod:`streams.feeds.verify`). Only when every feed passes are they installed: a
single file by an atomic :func:`os.replace`; OFAC's folder of four files by renaming the old folder
aside and the new one into place (a reader in between finds no folder and fails closed; it never sees
files of two snapshots). When anything fails, nothing is installed, the previous copies stay as they
were, and the error names the feed and the reason. A lock file keeps two runs on one folder apart.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from matchers.watchlist import Watchlist
from schemas.errors import WatchlistError
from streams.feeds.diff import ListChanges, list_changes
from streams.feeds.download import NotFoundError, download
from streams.feeds.sources import Feed
from streams.feeds.verify import verify

LOCK_NAME = ".fetch.lock"


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """What one run fetches, where to, and its limits (built by the CLI from flags and environment)."""

    out: Path
    feeds: tuple[Feed, ...]
    timeout: float
    max_shrink: float


@dataclass(frozen=True, slots=True)
class FeedResult:
    """A feed that was verified and installed: its list, what changed, and where it now is."""

    feed: Feed
    target: Path
    watchlist: Watchlist
    changes: ListChanges
    first_copy: bool
    previous_problem: str | None

    def describe(self) -> str:
        """One line: counts, where, and the changes from the previous copy."""
        wl = self.watchlist
        counts = f"{len(wl.entities):,} entities, {wl.name_count:,} names"
        if self.first_copy:
            change = "first copy"
        elif self.changes.unchanged:
            change = "unchanged"
        else:
            change = self.changes.summary()
        line = f"{self.feed.name}: {wl.list_id}, {counts} -> {self.target} ({change})"
        if self.previous_problem:
            line += f"; the previous copy did not load ({self.previous_problem})"
        return line


def fetch(settings: FetchSettings) -> list[FeedResult]:
    """Stage, verify and install every feed; WatchlistError (nothing installed) when any fails."""
    out = settings.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WatchlistError(f"cannot create the output folder {out} ({exc.strerror or exc})") from exc
    with _locked(out), _staging(out) as staging:
        staged = []
        for feed in settings.feeds:
            try:
                staged.append(_stage(feed, staging, settings))
            except WatchlistError as exc:
                kept = f"Nothing was installed; the previous copies in {out} are kept"
                message = f"feed {feed.name} failed: {exc}. {kept}"
                raise WatchlistError(message) from exc
        for result in staged:
            _install(result.feed, staging, out)
    return staged


def _stage(feed: Feed, staging: Path, settings: FetchSettings) -> FeedResult:
    """Download the feed's files into ``staging`` and verify them against the installed copy."""
    folder = staging / feed.place
    folder.mkdir(parents=True)
    for file in feed.files:
        try:
            download(file.url, folder / file.name, timeout=settings.timeout)
        except NotFoundError:
            if not file.optional:
                raise
    target = feed.target(settings.out)
    verified = verify(feed.target(staging), target, max_shrink=settings.max_shrink)
    return FeedResult(
        feed=feed,
        target=target,
        watchlist=verified.new,
        changes=list_changes(verified.previous, verified.new),
        first_copy=verified.previous is None,
        previous_problem=verified.previous_problem,
    )


def _install(feed: Feed, staging: Path, out: Path) -> None:
    """Move the staged copy into place (see the module docstring)."""
    if not feed.folder:
        (out / feed.place).mkdir(exist_ok=True)
        os.replace(feed.target(staging), feed.target(out))
        return
    target, new = out / feed.place, staging / feed.place
    if not target.exists():
        os.rename(new, target)
        return
    old = staging / f"{feed.place}.previous"
    os.rename(target, old)
    try:
        os.rename(new, target)
    except OSError:
        os.rename(old, target)
        raise


@contextmanager
def _staging(out: Path) -> Iterator[Path]:
    """A fresh staging folder inside ``out``, removed afterwards whatever happens."""
    path = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold ``out/.fetch.lock`` for the run; a second run on the same folder is refused, not queued."""
    with (out / LOCK_NAME).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WatchlistError(f"another txscreen lists fetch is writing to {out}") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
