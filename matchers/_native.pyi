"""Types of the native fast path, built from native/src/lib.rs (see its module comment)."""

from collections.abc import Iterable

class KeySearch:
    """The Aho-Corasick automaton over every key (UTF-8 bytes): standard semantics, overlapping finds.

    Keys of up to ``double_array_bytes`` (:data:`DOUBLE_ARRAY_KEY_BYTES` by default) get one double-array
    automaton, its layout profiled on ``corpus`` (sample traffic, batch strings one per line: no find
    changes, only how fast such text is scanned); a larger list's keys get NFAs in runs of about 20 MiB.
    ``run_bytes`` splits the keys into runs of that size instead (tests). Runs are found as one automaton
    finds them."""

    def __init__(
        self,
        keys: Iterable[bytes],
        run_bytes: int | None = None,
        corpus: bytes | None = None,
        double_array_bytes: int = ...,
    ) -> None: ...
    @staticmethod
    def from_bytes(data: bytes) -> KeySearch:
        """A key search :meth:`to_bytes` wrote (``ValueError`` for data that is not one)."""
    def to_bytes(self) -> bytes:
        """The built double arrays as bytes, loaded back by :meth:`from_bytes` in milliseconds (``ValueError``
        for NFAs)."""
    def __len__(self) -> int: ...
    @property
    def runs(self) -> int:
        """How many automata the keys are split into."""
    def find(self, haystack: bytes) -> list[tuple[int, int, int]]:
        """``(key index, start, end)`` of every key occurrence, in bytes."""

class Triage:
    """Classifies raw events, one :class:`matchers.triage.TriageCode` per event."""

    def __init__(
        self,
        search: KeySearch,
        countries: Iterable[str],
        simple: dict[str, bytes],
        kinds: dict[str, int],
        table: dict[str, tuple[str, bool, bool, int, int, int, int, str, int, str]],
        cjk: list[tuple[int, int]],
        fuzzy: FuzzyIndex | None = None,
        anchors_from: int = ...,
    ) -> None: ...
    def fold(self, text: str) -> str | None:
        """``text`` folded from the table (``matchers.normalize.fold``), or None where Python folds it."""
    def fold_positions(self, text: str) -> tuple[str, list[int]] | None:
        """``text`` folded from the table and, per folded character, the index of the character it
        comes from; None where Python folds it."""
    def layout_text(self, text: str) -> bytes | None:
        """``text`` and its other readings folded, as a batch string, or None where Python reads it."""
    def classify(self, raws: list[bytes | None], max_event_bytes: int) -> tuple[bytes, list[str], list[int]]:
        """``(codes, texts, owners)``: one code per input; ``owners[k]`` is the input of ``texts[k]``."""

#: Key bytes up to which :class:`KeySearch` builds double arrays (which :meth:`KeySearch.to_bytes` saves).
DOUBLE_ARRAY_KEY_BYTES: int

#: ``Triage.classify``'s codes by name, as ``matchers.triage.TriageCode`` declares them.
TRIAGE_CODES: dict[str, int]

#: The members the triage's event parse reads by name, per object (``event``, ``party``, ``agent``).
FIELDS: dict[str, list[str]]

def fold_ascii(data: bytes) -> bytes:
    """An ASCII batch string folded: lower case; letters, digits, NUL kept; others a space; runs collapsed."""

def osa_distance(a: str, b: str, limit: int | None = None) -> int:
    """The optimal string alignment distance; above ``limit``, ``limit + 1`` (native/src/distance.rs)."""

def fuzzy_verify(text: str, form: str, k: int, at: int, whole: bool) -> list[tuple[int, int, int]]:
    """:func:`matchers.fuzzy.verify`, natively."""

class FuzzyIndex:
    """The fuzzy tier's forms and, by anchor key index, the forms each anchor is of (distance.rs)."""

    def __init__(self) -> None: ...
    def add_form(self, k: int, whole: bool, form: str) -> int:
        """Add a form; its id."""
    def add_anchor(self, key: int, uses: list[int]) -> None:
        """Make ``key`` an anchor of forms: each use is ``form id << 8 | offset``."""
    def verify(
        self, key: int, text: str, local: int, party: bool, whole_text: bool
    ) -> list[tuple[int, int, int, int]]:
        """``(form id, start, end, distance)`` of each form of anchor ``key`` found at ``local``."""
    def verify_finds(
        self, batch: bytes, finds: list[tuple[int, int, int]], party: list[bool]
    ) -> dict[int, list[tuple[int, int, int, int]]]:
        """Every anchor find of a folded batch verified in one call: ``{position in finds: [(form id,
        start, end, distance)]}`` for those with a span within budget; ``party[k]``: text k is a party
        field."""

class AnchorPlanner:
    """The fuzzy tier's cut of a folded form into anchors by a gram table and a cap (planner.rs)."""

    def __init__(self, grams: dict[str, int], cap: int) -> None: ...
    def plan(self, form: str) -> tuple[int, list[tuple[int, str]]] | None:
        """:func:`matchers.fuzzy.plan` of ``form``: ``(k, [(offset, anchor)])``, ``None`` when exact-only."""
