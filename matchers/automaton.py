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

import itertools
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from matchers._native import KeySearch, Triage

try:  # the fuzzy tier's native verification (native/src/distance.rs); else matchers.fuzzy's Python
    from matchers._native import FuzzyIndex
except ImportError:  # pragma: no cover - a build without it
    FuzzyIndex = None  # type: ignore[assignment,misc]
from matchers.fuzzy import FuzzyForm, budget, gram_table, plan
from matchers.normalize import BATCH_SEPARATOR, has_cjk, is_cjk, not_simple_search, simple_folds, simple_kinds
from matchers.policy import MatchRule, fuzzy_forms, name_forms
from matchers.watchlist import Entity, EntityType, ListedName, Watchlist, watchlist_version
from schemas.countries import ISO_3166_ALPHA2


@dataclass(frozen=True, slots=True)
class Target:
    """What a key stands for: one name of one entity and the rule it matches under."""

    entity: Entity
    name: ListedName
    rule: MatchRule


@dataclass(frozen=True, slots=True)
class FuzzyTarget:
    """A name form in the fuzzy tier (:mod:`matchers.fuzzy`) and what a hit on it stands for."""

    target: Target
    fuzzy: FuzzyForm


#: One anchor of a fuzzy form: the form and where the anchor starts in it.
AnchorUse = tuple[FuzzyTarget, int]


@dataclass(frozen=True, slots=True)
class AnchorUses:
    """The fuzzy forms one anchor key stands for, and how far they reach around a find.

    ``before``: the largest offset of the anchor in a form; ``after``: the largest length from the
    anchor's start to a form's end. A find's verification needs only its text within that reach
    (plus the budget and a character for the word boundary on each side).
    """

    uses: tuple[AnchorUse, ...]
    before: int
    after: int

    @staticmethod
    def of(uses: list[AnchorUse]) -> AnchorUses:
        """The uses and their reach."""
        return AnchorUses(
            tuple(uses), max(u[1] for u in uses), max(len(u[0].fuzzy.form) - u[1] for u in uses)
        )


def inversion_keys(form: str) -> tuple[str, ...]:
    """Keys that send a party field written ``REST, FIRST`` of ``form`` (an individual's) to the full path.

    Such a field, folded, is the form's words rotated: it holds the last word followed by the first
    (``TIKRITI TAHIR`` of ``JALIL HABBUSH AL-TIKRITI, TAHIR``) and, for three words or more, one more
    word before or after them; the keys are those runs and stand for no name (the full path reads
    the field inverted, :mod:`matchers.inversion`). None for a one-word or CJK form.
    """
    words = form.split(" ")
    if len(words) < 2 or has_cjk(form):
        return ()
    if len(words) == 2:
        return (f" {words[1]} {words[0]} ",)
    return (f" {words[-2]} {words[-1]} {words[0]} ", f" {words[-1]} {words[0]} {words[1]} ")


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


def _fuzzy_index(anchors: dict[int, AnchorUses]) -> FuzzyIndex | None:
    """The native index of every anchor's uses, their ids in the order of ``anchors`` (``None``: no
    native extension)."""
    if FuzzyIndex is None:
        return None
    entries: list[tuple[int, int, int, int, bool, str]] = []
    for index, anchor in anchors.items():
        for offset_use in anchor.uses:
            fuzzy_target, offset = offset_use
            whole = fuzzy_target.target.rule is MatchRule.WHOLE_FIELD
            form = fuzzy_target.fuzzy
            entries.append((index, len(entries), offset, form.k, whole, form.form))
    return FuzzyIndex(entries)


class NameAutomaton:
    """All forms of all names of the loaded watchlists, searchable in one pass."""

    def __init__(
        self,
        watchlists: Sequence[Watchlist],
        *,
        fuzzy: bool = True,
        fuzzy_lists: Collection[str] | None = None,
    ) -> None:
        """Build the keys of every name of ``watchlists``.

        ``fuzzy``: also the anchors of the fuzzy tier (:mod:`matchers.fuzzy`), for the names of every
        list, or with ``fuzzy_lists`` only of the lists with those ids.
        """
        started = time.perf_counter()
        self.watchlists = tuple(watchlists)
        self.version = watchlist_version(self.watchlists)
        self.fuzzy = fuzzy
        self.fuzzy_lists = None if fuzzy_lists is None else frozenset(fuzzy_lists)
        # Most keys stand for one target: store it bare, and a list only where several share a key
        # (a million-name list has millions of keys, so this halves the Python-side memory).
        keyed: dict[str, Target | list[Target]] = {}
        anchored: dict[str, list[AnchorUse]] = {}
        table = gram_table() if fuzzy else {}
        names = fuzzy_names = frequent = 0
        for wl in self.watchlists:
            fuzzy_here = fuzzy and (self.fuzzy_lists is None or wl.list_id in self.fuzzy_lists)
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
                        if entity.type is EntityType.INDIVIDUAL:
                            for trigger in inversion_keys(form):
                                if trigger not in keyed:
                                    keyed[trigger] = []
                    if fuzzy_here:
                        planned = self._plan(name, entity.type, target, table, anchored)
                        fuzzy_names += planned is True
                        frequent += planned is None
        self._targets = list(keyed.values())
        exact_keys = len(keyed)
        anchor_keys = [a for a in anchored if a not in keyed]
        position = {key: i for i, key in enumerate(keyed) if key in anchored}
        position.update((a, exact_keys + i) for i, a in enumerate(anchor_keys))
        self._anchors = {position[a]: AnchorUses.of(u) for a, u in anchored.items()}
        #: Every use of every anchor, by the id the native verification reports.
        self._fuzzy_uses: list[AnchorUse] = [use for anchor in self._anchors.values() for use in anchor.uses]
        #: The native verification of anchor finds (``None``: the pure-Python one in matchers.screening).
        self.fuzzy_index = _fuzzy_index(self._anchors) if self._anchors else None
        self._targets.extend([] for _ in anchor_keys)
        #: Names in the fuzzy tier; names long enough for it left exact-only because every cut of
        #: theirs leaves an anchor too frequent in ordinary traffic.
        self.fuzzy_name_count = fuzzy_names
        self.fuzzy_frequent_count = frequent
        self.anchor_count = len(anchored)
        # Batches are searched as UTF-8 bytes: the ASCII batch never becomes a str. The native automaton
        # is the aho-corasick crate's, which picks a contiguous NFA for lists this size (a full DFA was
        # measured slower in the screening loop: 400+ MB for the bundled lists, so cache misses). Keys are
        # not kept on the Python side: a find's key is the batch slice it covers.
        self._search = KeySearch(key.encode("utf-8") for key in itertools.chain(keyed, anchor_keys))
        #: Classifies raw events: certainly clean, "take the full path", or clean unless a handed-back
        #: text holds a key (:class:`matchers.triage.TriageCode`; see matchers.screening).
        self.triage = Triage(self._search, ISO_3166_ALPHA2, simple_folds(), simple_kinds())
        self.key_count = exact_keys + len(anchor_keys)
        del keyed, anchored
        not_simple_search()  # compile the text router's class now, not in the first screened batch
        self.name_count = names
        self.build_seconds = time.perf_counter() - started

    @staticmethod
    def _plan(
        name: ListedName,
        entity_type: EntityType,
        target: Target,
        table: Mapping[str, int],
        anchored: dict[str, list[AnchorUse]],
    ) -> bool | None:
        """Add the anchors of a name's fuzzy forms: ``True`` when it has some, ``None`` when it is long
        enough for the fuzzy tier but every cut leaves an anchor too frequent, else ``False``."""
        eligible = fuzzy_forms(name, entity_type)
        plans = [p for p in (plan(f, table) for f in eligible) if p is not None]
        for planned in plans:
            fuzzy_target = FuzzyTarget(target, planned)
            for offset, anchor in planned.anchors:
                anchored.setdefault(anchor, []).append((fuzzy_target, offset))
        if plans:
            return True
        if any(budget(len(f) - f.count(" ")) for f in eligible):
            return None
        return False

    def find_keys(self, batch: bytes) -> list[tuple[int, int, int]]:
        """``(key index, start, end)`` of every key occurrence in a folded batch (UTF-8), in bytes."""
        return self._search.find(batch)

    def fuzzy_use(self, use_id: int) -> AnchorUse:
        """The anchor use a native verification reports by ``use_id``."""
        return self._fuzzy_uses[use_id]

    def anchors_of(self, key_index: int) -> AnchorUses | None:
        """The fuzzy forms a key is an anchor of, with the anchor's offset in each (``None``: none)."""
        return self._anchors.get(key_index)

    @property
    def fuzzy_coverage(self) -> float:
        """The share of names in the fuzzy tier."""
        return self.fuzzy_name_count / self.name_count if self.name_count else 0.0

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
