"""The Aho-Corasick automaton over every searchable form of every listed name.

Keys are folded name forms with their boundaries spelled out, so that one pass over a batch
string finds whole-word matches, CJK substring matches and whole-field matches at once:

* anywhere, word script:   ``" tencent holdings ltd "`` (a space on each side = whole words)
* anywhere, CJK edge:      ``"字节跳动"`` (no space on a CJK side = substring)
* whole field:             ``"\\x00 hamas \\x00"`` (NUL separates texts in a batch string)

A batch string is ``"\\x00 " + " \\x00 ".join(texts) + " \\x00"`` folded by one of the batch folds
of :mod:`matchers.normalize`: every text sits between NULs with a space inside each edge.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from matchers.backend import Engine, engine
from matchers.normalize import (
    BATCH_SEPARATOR,
    cjk_ranges,
    is_cjk,
    native_fold_table,
    not_simple_search,
    simple_folds,
    simple_kinds,
)
from matchers.policy import MatchRule, name_forms
from matchers.watchlist import Entity, ListedName, Watchlist, watchlist_version
from schemas.countries import ISO_3166_ALPHA2


@dataclass(frozen=True, slots=True)
class Target:
    """What a key stands for: one name of one entity and the rule it matches under."""

    entity: Entity
    name: ListedName
    rule: MatchRule


def anywhere_key(form: str) -> str:
    """The key of a form that may match anywhere: space-bounded except on a CJK edge."""
    left = "" if is_cjk(form[0]) else " "
    right = "" if is_cjk(form[-1]) else " "
    return f"{left}{form}{right}"


def whole_field_key(form: str) -> str:
    """The key of a form that must fill a whole text."""
    return f"{BATCH_SEPARATOR} {form} {BATCH_SEPARATOR}"


def key_core_offset(key: str) -> int:
    """Where the folded form starts inside its key."""
    if key.startswith(BATCH_SEPARATOR):
        return 2
    return 1 if key.startswith(" ") else 0


@dataclass(frozen=True, slots=True)
class Found:
    """One key found in a batch string: where it starts and ends there, and what it stands for."""

    start: int
    end: int
    key: str
    targets: tuple[Target, ...]

    @property
    def form(self) -> str:
        """The folded name form the key spells (the key without its boundary marks)."""
        return self.key.strip(f" {BATCH_SEPARATOR}")


class NameAutomaton:
    """All forms of all names of the loaded watchlists, searchable in one pass."""

    def __init__(self, watchlists: Sequence[Watchlist], *, using: Engine | None = None) -> None:
        started = time.perf_counter()
        #: The native fast path or pure Python (:mod:`matchers.backend`); this process's unless ``using``.
        self.engine = using or engine()
        self.watchlists = tuple(watchlists)
        self.version = watchlist_version(self.watchlists)
        # Most keys stand for one target: store it bare, and a list only where several share a key
        # (a million-name list has millions of keys, so this halves the Python-side memory).
        keyed: dict[str, Target | list[Target]] = {}
        names = 0
        for wl in self.watchlists:
            for entity in wl.entities:
                for name in entity.names:
                    names += 1
                    forms = name_forms(name, entity.type)
                    target = Target(entity, name, forms.rule)
                    to_key = anywhere_key if forms.rule is MatchRule.ANYWHERE else whole_field_key
                    for form in forms.forms:
                        key = to_key(form)
                        held = keyed.get(key)
                        if held is None:
                            keyed[key] = target
                        elif isinstance(held, Target):
                            keyed[key] = [held, target]
                        else:
                            held.append(target)
        self._targets = list(keyed.values())
        # Batches are searched as UTF-8 bytes: the ASCII batch never becomes a str. The native automaton
        # is the aho-corasick crate's, which picks a contiguous NFA for lists this size (a full DFA was
        # measured slower in the screening loop: 400+ MB for the bundled lists, so cache misses). Keys are
        # not kept on the Python side: a find's key is the batch slice it covers.
        self._search = self.engine.key_search(key.encode("utf-8") for key in keyed)
        #: Classifies raw events: certainly clean, "take the full path", or clean unless a handed-back
        #: text holds a key (:class:`matchers.triage.TriageCode`; see matchers.screening).
        self.triage = self.engine.triage(
            self._search, ISO_3166_ALPHA2, simple_folds(), simple_kinds(), native_fold_table(), cjk_ranges()
        )
        self.key_count = len(keyed)
        del keyed
        not_simple_search()  # compile the text router's class now, not in the first screened batch
        self.name_count = names
        self.build_seconds = time.perf_counter() - started

    def find_keys(self, batch: bytes) -> list[tuple[int, int, int]]:
        """``(key index, start, end)`` of every key occurrence in a folded batch (UTF-8), in bytes."""
        return self._search.find(batch)

    def targets_of(self, key_index: int) -> tuple[Target, ...]:
        """What the key of a :meth:`find_keys` find stands for."""
        held = self._targets[key_index]
        return (held,) if isinstance(held, Target) else tuple(held)

    def find(self, batch: bytes) -> list[Found]:
        """Every key occurrence in a folded batch (UTF-8), overlapping ones included; offsets in bytes."""
        targets = self._targets
        found = []
        for index, start, end in self._search.find(batch):
            held = targets[index]
            key = batch[start:end].decode("utf-8")
            found.append(Found(start, end, key, (held,) if isinstance(held, Target) else tuple(held)))
        return found
