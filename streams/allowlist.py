"""Where the screeners get the approved allowlist entries: the allowlist topic (followed) or an export file.

``txscreen run`` follows the compacted allowlist topic (:mod:`streams.kafka.allowlist`) on a background
thread, ``read_committed``,
from the beginning: a record is an approved entry (key = entry id), a tombstone a revoke. The first
batch is screened only once the topic was read to its end, and later entries apply from the batch
after they arrive, without a restart. ``txscreen screen --allowlist FILE`` reads an export made by
``txscreen allow export`` (JSON Lines, one approved entry per line).

The rules (which hits an entry covers, when it is void) are :mod:`matchers.allowlist`'s.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

import msgspec

from matchers.allowlist import active_entries, void_reason
from schemas.decisions import AllowEntry, decode_allow_entry
from schemas.errors import ConfigError

log = logging.getLogger(__name__)


class Allowlist:
    """The approved entries, by id; :meth:`active` gives those that apply at a time (thread-safe)."""

    def __init__(self, entries: Iterable[AllowEntry] = (), hashes: Mapping[str, str] | None = None) -> None:
        self._lock = threading.Lock()
        self._entries = {e.entry_id: e for e in entries}
        self.hashes: Mapping[str, str] = hashes or {}
        self._void_logged: set[tuple[str, str]] = set()

    def put(self, entry_id: str, entry: AllowEntry | None) -> None:
        """Add or replace an entry; None (a tombstone) removes it."""
        with self._lock:
            if entry is None:
                self._entries.pop(entry_id, None)
            else:
                self._entries[entry_id] = entry

    def entries(self) -> list[AllowEntry]:
        """Every approved entry held, void or not."""
        with self._lock:
            return list(self._entries.values())

    def active(self, now: datetime) -> dict[str, list[AllowEntry]]:
        """The entries that apply at ``now``, by entity id; each newly void entry is logged once, with why."""
        entries = self.entries()
        for entry in entries:
            reason = void_reason(entry, now, self.hashes)
            if reason is not None and (entry.entry_id, reason) not in self._void_logged:
                self._void_logged.add((entry.entry_id, reason))
                log.warning("allowlist entry %s is void: %s", entry.entry_id, reason)
        return active_entries(entries, now, self.hashes)


def read_export(path: Path) -> list[AllowEntry]:
    """The entries of an export file (JSON Lines); ConfigError naming the line that does not parse."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read the allowlist file {path}: {exc.strerror or exc}.") from exc
    entries: list[AllowEntry] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entries.append(decode_allow_entry(line))
        except msgspec.ValidationError as exc:
            raise ConfigError(f"{path}:{number} is not an allowlist entry: {exc}.") from exc
        except msgspec.DecodeError as exc:
            raise ConfigError(f"{path}:{number} is not JSON: {exc}.") from exc
    return entries
