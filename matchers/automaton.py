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

import gc
import itertools
import time
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import cast

from matchers.backend import Engine, KeySearcher, engine
from matchers.fuzzy import FuzzyForm, budget, gram_table, planner
from matchers.normalize import (
    BATCH_SEPARATOR,
    cjk_ranges,
    has_cjk,
    is_cjk,
    native_fold_table,
    not_simple_search,
    simple_folds,
    simple_kinds,
)
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


#: An anchor's reach around a find: the largest offset of the anchor in one of its forms, and the
#: largest length from the anchor's start to a form's end (verification needs only that window).
AnchorReach = tuple[int, int]

#: The anchors of a build, packed so that a million-name list's millions of uses are three arrays, not
#: millions of objects: per anchor its key index, where its uses start in the third array (one more
#: entry: the end), and every use (``form id << 8 | offset``), each anchor's in the order planned.
Anchors = tuple["array[int]", "array[int]", "array[int]"]

#: No anchors (a build without the fuzzy tier, or once the index holds them).
_NO_ANCHORS: Anchors = (array("I"), array("I", [0]), array("Q"))

#: What a key that is only an anchor or an inversion trigger stands for: nothing (one list, never changed).
_NO_TARGETS: list[Target] = []

#: Forms longer than this stay exact-only (an anchor's offset is packed in 8 bits).
MAX_FUZZY_FORM = 255

#: While a build plans anchors, a use is packed with its anchor's id above this many bits.
_USE_BITS = 40
_USE_MASK = (1 << _USE_BITS) - 1


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
    if form.isascii():  # most forms: no CJK edge
        return f" {form} "
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


@dataclass(slots=True)
class Prepared:
    """The pure-Python part of a build (:func:`prepare`): every key and what it stands for.

    It depends only on the lists' content and the build options, so a start-up may keep it on disk
    and build from it again (``streams.build_cache``). :class:`NameAutomaton` consumes ``keys``.
    """

    #: Every key, exact keys first, then the keys that are only anchors (UTF-8, or str to encode).
    keys: list[bytes] | list[str]
    #: How many keys there are (``keys`` is emptied as the search consumes it), the exact ones first.
    key_count: int
    exact_keys: int
    #: What each exact key stands for: one target, several, or none (an inversion trigger).
    targets: list[Target | list[Target]]
    #: The fuzzy forms, by id.
    fuzzy_targets: list[FuzzyTarget]
    #: Each anchor's key index and uses (``form id << 8 | offset``), packed (:func:`anchor_groups`).
    anchors: Anchors
    #: Per key index, how far an anchor's forms reach before and after it (0 after: not an anchor).
    before: array[int]
    after: array[int]
    names: int
    fuzzy_names: int
    frequent: int
    #: :func:`matchers.normalize.simple_kinds` and :func:`native_fold_table` if already at hand
    #: (the native triage's tables; ``None``: computed).
    tables: tuple[object, object] | None = None


def prepare(
    watchlists: Sequence[Watchlist], *, fuzzy: bool = True, fuzzy_lists: Collection[str] | None = None
) -> Prepared:
    """Every key of every name of ``watchlists`` and what it stands for (:class:`NameAutomaton`'s options)."""
    collecting = gc.isenabled()
    gc.disable()  # objects that live on, by the hundred thousand: the collector would walk them again
    try:
        return _prepare(watchlists, fuzzy, None if fuzzy_lists is None else frozenset(fuzzy_lists))
    finally:
        if collecting:
            gc.enable()


def _prepare(watchlists: Sequence[Watchlist], fuzzy: bool, fuzzy_lists: frozenset[str] | None) -> Prepared:
    # Most keys stand for one target: store it bare, and a list only where several share a key
    # (a million-name list has millions of keys, so this halves the Python-side memory).
    keyed: dict[str, Target | list[Target]] = {}
    anchored: dict[str, int] = {}  # anchor -> its id (the order of its first use)
    # Every use, in the order planned: anchor id << _USE_BITS | form id << 8 | offset.
    uses: array[int] = array("Q")
    fuzzy_targets: list[FuzzyTarget] = []
    plan = planner(gram_table()) if fuzzy else None
    names = fuzzy_names = frequent = 0
    individual = EntityType.INDIVIDUAL
    for wl in watchlists:
        plan_here = plan if fuzzy_lists is None or wl.list_id in fuzzy_lists else None
        for entity in wl.entities:
            for name in entity.names:
                names += 1
                forms = name_forms(name, entity.type)
                target = Target(entity, name, forms.rule)
                to_key = anywhere_key if forms.rule is MatchRule.ANYWHERE else whole_field_key
                for form in forms.forms:
                    key = to_key(form)
                    held = keyed.get(key)
                    if held is None or held is _NO_TARGETS:
                        keyed[key] = target
                    elif isinstance(held, Target):
                        keyed[key] = [held, target]
                    else:
                        held.append(target)
                    if entity.type is individual:
                        for trigger in inversion_keys(form):
                            if trigger not in keyed:  # one shared empty list: none is ever added to
                                keyed[trigger] = _NO_TARGETS
                if plan_here is not None:
                    planned = _plan(
                        name,
                        entity.type,
                        target,
                        plan_here,
                        anchored=anchored,
                        uses=uses,
                        fuzzy_targets=fuzzy_targets,
                    )
                    fuzzy_names += planned is True
                    frequent += planned is None
    # Keys in sorted order (exact keys first, then the keys that are only anchors): the engine builds its
    # automaton about 20% faster from sorted keys (the order of keys never matters otherwise).
    keys = sorted(keyed)
    exact_keys = len(keys)
    targets = list(map(keyed.__getitem__, keys))
    anchor_keys = sorted(a for a in anchored if a not in keyed)
    position = _positions(anchored, keys, anchor_keys)
    del keyed, anchored  # the keys live on in ``keys`` only
    keys.extend(anchor_keys)
    del anchor_keys
    count = len(keys)
    anchors, before, after = _reach(uses, position, fuzzy_targets, count)
    del uses
    return Prepared(
        keys, count, exact_keys, targets, fuzzy_targets, anchors, before, after, names, fuzzy_names, frequent
    )


def _positions(anchored: dict[str, int], keys: list[str], anchor_keys: list[str]) -> array[int]:
    """Per anchor id, its key index: among the exact ``keys``, or after them among ``anchor_keys``."""
    position = array("I", bytes(4 * len(anchored)))
    anchor_id = anchored.get
    for i, key in enumerate(keys):
        aid = anchor_id(key)
        if aid is not None:
            position[aid] = i
    for i, key in enumerate(anchor_keys, len(keys)):
        position[anchored[key]] = i
    return position


def _reach(
    uses: array[int], position: array[int], fuzzy_targets: list[FuzzyTarget], count: int
) -> tuple[Anchors, array[int], array[int]]:
    """The packed anchors (uses grouped by anchor, each anchor's in the order planned: a counting sort),
    and per key index how far an anchor's forms reach before and after it (0 after: not an anchor)."""
    before = array("H", bytes(2 * count)) if uses else array("H")
    after = array("H", bytes(2 * count)) if uses else array("H")
    starts = array("I", bytes(4 * (len(position) + 1)))
    for packed in uses:
        starts[(packed >> _USE_BITS) + 1] += 1
    for aid in range(len(position)):
        starts[aid + 1] += starts[aid]
    fill = array("I", starts)
    grouped = array("Q", bytes(8 * len(uses)))
    lengths = [len(f.fuzzy.form) for f in fuzzy_targets]
    for packed in uses:
        aid = packed >> _USE_BITS
        use = packed & _USE_MASK
        grouped[fill[aid]] = use
        fill[aid] += 1
        index = position[aid]
        offset = use & 0xFF
        tail = lengths[use >> 8] - offset
        before[index] = max(before[index], offset)
        after[index] = max(after[index], tail)
    return (position, starts, grouped), before, after


def anchor_groups(anchors: Anchors) -> Iterator[tuple[int, list[int]]]:
    """Each anchor's key index and uses (``form id << 8 | offset``), from the packed anchors."""
    position, starts, grouped = anchors
    for aid, index in enumerate(position):
        yield index, grouped[starts[aid] : starts[aid + 1]].tolist()


def _plan(
    name: ListedName,
    entity_type: EntityType,
    target: Target,
    plan: Callable[[str], FuzzyForm | None],
    *,
    anchored: dict[str, int],
    uses: array[int],
    fuzzy_targets: list[FuzzyTarget],
) -> bool | None:
    """Add the anchors of a name's fuzzy forms: ``True`` when it has some, ``None`` when it is long
    enough for the fuzzy tier but every cut leaves an anchor too frequent, else ``False``."""
    eligible = [f for f in fuzzy_forms(name, entity_type) if len(f) <= MAX_FUZZY_FORM]
    plans = [p for p in map(plan, eligible) if p is not None]
    for planned in plans:
        form_id = len(fuzzy_targets)
        fuzzy_targets.append(FuzzyTarget(target, FuzzyForm(planned.form, planned.k, ())))
        for offset, anchor in planned.anchors:
            aid = anchored.get(anchor)
            if aid is None:
                aid = anchored[anchor] = len(anchored)
            uses.append(aid << _USE_BITS | form_id << 8 | offset)
    if plans:
        return True
    if any(budget(len(f) - f.count(" ")) for f in eligible):
        return None
    return False


class PendingSearch:
    """The engine's key search over ``keys``, built on a worker thread: the native build releases the
    GIL, so the rest of a build (the fuzzy index, the triage's tables) runs beside it.

    Consumes ``keys``: str keys are encoded one by one on the worker thread, each released once the
    engine has copied it (a million-name list has millions); UTF-8 keys go to the engine as they are
    (no Python code on the worker thread to hold the GIL) and the list is emptied once it is built.
    ``anchors_from``: the index of the first key that is only an anchor of the fuzzy tier (the native
    search finds those by gram)."""

    def __init__(self, using: Engine, keys: list[bytes] | list[str], anchors_from: int | None = None) -> None:
        self.engine = using
        self._keys = keys
        given: Iterable[bytes]
        if keys and isinstance(keys[0], bytes):
            given = cast(list[bytes], keys)
        else:
            keys.reverse()
            given = _drained(keys)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="txscreen-keys")
        grams = gram_table() if anchors_from is not None else None
        self._future = pool.submit(using.key_search, given, anchors_from=anchors_from, grams=grams)
        pool.shutdown(wait=False)

    @classmethod
    def ready(cls, using: Engine, search: KeySearcher) -> PendingSearch:
        """A search already built (read back from the build cache): nothing runs on a worker thread."""
        pending = cls.__new__(cls)
        pending.engine, pending._keys = using, []
        pending._future = Future()
        pending._future.set_result(search)
        return pending

    def result(self) -> KeySearcher:
        """The built key search (re-raises what the build raised)."""
        try:
            return self._future.result()
        finally:
            self._keys.clear()


def _drained(reversed_keys: list[bytes] | list[str]) -> Iterator[bytes]:
    """The keys in their order (the list holds them reversed), as UTF-8, each dropped once yielded."""
    pop = reversed_keys.pop
    while reversed_keys:
        key = pop()
        yield key if isinstance(key, bytes) else key.encode("utf-8")


class NameAutomaton:
    """All forms of all names of the loaded watchlists, searchable in one pass."""

    def __init__(
        self,
        watchlists: Sequence[Watchlist],
        *,
        fuzzy: bool = True,
        fuzzy_lists: Collection[str] | None = None,
        using: Engine | None = None,
        prepared: Prepared | None = None,
        search: PendingSearch | None = None,
    ) -> None:
        """Build the keys of every name of ``watchlists``.

        ``fuzzy``: also the anchors of the fuzzy tier (:mod:`matchers.fuzzy`), for the names of every
        list, or with ``fuzzy_lists`` only of the lists with those ids. ``using``: the engine (native or
        pure Python, :mod:`matchers.backend`); this process's by default. ``prepared``: the result of
        :func:`prepare` for the same lists and options (computed when not given; consumed), and
        ``search``: its key search already started (``prepared.keys`` then empty).
        """
        started = time.perf_counter()
        #: The native fast path or pure Python (:mod:`matchers.backend`); this process's unless ``using``.
        self.engine = using or (search.engine if search is not None else engine())
        if search is not None and search.engine is not self.engine:
            raise ValueError("the pending key search was started on another engine")
        self.watchlists = tuple(watchlists)
        self.version = watchlist_version(self.watchlists)
        self.fuzzy = fuzzy
        self.fuzzy_lists = None if fuzzy_lists is None else frozenset(fuzzy_lists)
        collecting = gc.isenabled()
        gc.disable()  # as in prepare(): what is built here lives as long as the automaton
        try:
            if prepared is None:
                prepared = _prepare(self.watchlists, fuzzy, self.fuzzy_lists)
            self._assemble(prepared, search)
        finally:
            if collecting:
                gc.enable()
        self.build_seconds = time.perf_counter() - started

    def _assemble(self, prepared: Prepared, search: PendingSearch | None) -> None:
        """The engine's search, the fuzzy index and the triage from a :class:`Prepared` build."""
        # Batches are searched as UTF-8 bytes: the ASCII batch never becomes a str. The native automaton
        # is the daachorse crate's double array, its layout profiled on sample traffic (1.5-1.7x the scan
        # speed of the aho-corasick crate's contiguous NFA on the bundled lists; a full DFA was 600 MB and
        # slower). Keys are not kept on the Python side: a find's key is the batch slice it covers.
        exact_keys = prepared.exact_keys
        #: The index of the first key that is only an anchor of the fuzzy tier (no exact target).
        self.anchors_from = exact_keys
        pending = search if search is not None else PendingSearch(self.engine, prepared.keys, exact_keys)
        # What each key stands for; the keys that are only anchors stand for nothing (one shared list).
        self._targets = prepared.targets
        self._targets.extend(itertools.repeat(_NO_TARGETS, prepared.key_count - exact_keys))
        #: The fuzzy forms, by id (their anchors are not kept: the automaton holds them).
        self._fuzzy_targets = prepared.fuzzy_targets
        self._before, self._after = prepared.before, prepared.after
        self._index_anchors(prepared.anchors)
        self.anchor_count = len(prepared.anchors[0])
        prepared.anchors = (
            _NO_ANCHORS  # held by the index now (or by _anchor_uses): free them before the wait
        )
        #: Names in the fuzzy tier; names long enough for it left exact-only because every cut of
        #: theirs leaves an anchor too frequent in ordinary traffic.
        self.fuzzy_name_count = prepared.fuzzy_names
        self.fuzzy_frequent_count = prepared.frequent
        self.name_count = prepared.names
        tables = self._triage_tables(prepared.tables) if self.engine.native else ()
        not_simple_search()  # compile the text router's class now, not in the first screened batch
        self._search = pending.result()
        self.key_count = prepared.key_count
        #: Classifies raw events: certainly clean, "take the full path", or clean unless a handed-back
        #: text holds a key (:class:`matchers.triage.TriageCode`; see matchers.screening). With the
        #: native fuzzy index, an event whose finds are all anchors that fail verification is clean.
        if self.fuzzy_index is not None:
            self.triage = self.engine.triage(self._search, *tables, self.fuzzy_index, exact_keys)
        else:
            self.triage = self.engine.triage(self._search, *tables)

    @staticmethod
    def _triage_tables(given: tuple[object, object] | None) -> tuple[object, ...]:
        """The native triage's tables (the pure triage needs none)."""
        kinds, native = given if given is not None else (simple_kinds(), native_fold_table())
        return (ISO_3166_ALPHA2, simple_folds(), kinds, native, cjk_ranges())

    def _index_anchors(self, anchors: Anchors) -> None:
        """Give the native index (or the Python fallback) every form and anchor."""
        #: The native verification of anchor finds (``None``: the pure-Python one in matchers.screening,
        #: from ``_anchor_uses``).
        native_index = self.engine.fuzzy_index
        self.fuzzy_index = native_index() if native_index is not None and anchors[0] else None
        self._anchor_uses: dict[int, list[int]] = {}
        index = self.fuzzy_index
        if index is not None:
            add_form = index.add_form
            for fuzzy_target in self._fuzzy_targets:
                whole = fuzzy_target.target.rule is MatchRule.WHOLE_FIELD
                add_form(fuzzy_target.fuzzy.k, whole, fuzzy_target.fuzzy.form)
            add_anchor = index.add_anchor
            for key, uses in anchor_groups(anchors):
                add_anchor(key, uses)
        else:
            self._anchor_uses.update(anchor_groups(anchors))

    def search_bytes(self) -> bytes | None:
        """The built key search as bytes, for the build cache (``None``: the engine's cannot be saved)."""
        to_bytes = getattr(self._search, "to_bytes", None)
        return None if to_bytes is None else cast(bytes, to_bytes())

    def find_keys(self, batch: bytes) -> list[tuple[int, int, int]]:
        """``(key index, start, end)`` of every key occurrence in a folded batch (UTF-8), in bytes."""
        return self._search.find(batch)

    def fuzzy_target(self, form_id: int) -> FuzzyTarget:
        """The fuzzy form with id ``form_id`` (as the native verification reports it)."""
        return self._fuzzy_targets[form_id]

    def anchors_of(self, key_index: int) -> AnchorReach | None:
        """How far the forms a key is an anchor of reach around a find (``None``: no anchor)."""
        if key_index >= len(self._after) or not self._after[key_index]:
            return None
        return self._before[key_index], self._after[key_index]

    def anchor_uses(self, key_index: int) -> list[AnchorUse]:
        """The forms a key is an anchor of, with the anchor's offset in each (the Python fallback's)."""
        return [(self._fuzzy_targets[u >> 8], u & 0xFF) for u in self._anchor_uses.get(key_index, ())]

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
