"""The fuzzy tier: listed names within a small edit distance, found through rare anchors.

A partition filter (Pass-Join, VLDB 2012; Faerie, SIGMOD 2011). An eligible folded name form gets an
edit budget ``k`` by its letters (:func:`budget`: 0 below 9, 1 for 9 to 15, 2 for 16 or more) and is
cut into ``k + 1`` segments, its *anchors*, with at least one character between two anchors. One
edit (insertion, deletion, substitution, or a swap of two neighbours) touches at most one anchor, so
any text within ``k`` edits of the form holds at least one anchor verbatim, at most ``k`` characters
from where the form would put it. The anchors are keys of the same automaton pass as the exact
tier's; a find is verified by :func:`osa_distance` between the form and every span of the text that
starts and ends on a word boundary within ``k`` characters of where the anchor puts the form
(:func:`verify`). A hit is a span at distance ``0 < d <= k``.

Anchor boundaries are chosen so that anchors are rare in ordinary payment traffic: each anchor's
frequency is bounded by the least frequent of its 4-character grams in a table counted over a large
clean ``txscreen loadgen`` sample (``matchers/data/anchor-grams.tsv``, :func:`gram_table`). A form
whose every cut leaves an anchor above :data:`ANCHOR_CAP` stays exact-only, and the build counts it.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from matchers.backend import engine

#: Gram length of the frequency table.
GRAM = 4
#: Shortest anchor (characters): an anchor is at least one gram long.
MIN_ANCHOR = GRAM
#: An anchor may occur in at most this many texts per million of clean traffic (its grams' bound).
ANCHOR_CAP = 5000
#: The largest edit budget (:func:`budget`).
MAX_BUDGET = 2
#: Names with fewer letters never fuzzy-match (rule: four letters or fewer, and budget 0 below 9).
MIN_FUZZY_LETTERS = 9


def budget(letters: int) -> int:
    """The edit budget of a name by its letters (spaces do not count): 0 below 9, 1 to 15, then 2."""
    if letters < MIN_FUZZY_LETTERS:
        return 0
    return 1 if letters <= 15 else 2


def osa_distance(a: str, b: str, limit: int | None = None) -> int:
    """The restricted Damerau-Levenshtein (optimal string alignment) distance between ``a`` and ``b``.

    Insertions, deletions, substitutions and swaps of two adjacent characters cost 1; no substring is
    edited twice. With ``limit``, any distance above it is returned as ``limit + 1`` (and computed faster).
    """
    if limit is not None and abs(len(a) - len(b)) > limit:
        return limit + 1
    if a == b:
        return 0
    n, m = len(a), len(b)
    big = n + m + 1
    prev2: list[int] = []
    prev = list(range(m + 1))
    for i in range(1, n + 1):
        cur = [i] + [big] * m
        ai = a[i - 1]
        lo, hi = (1, m) if limit is None else (max(1, i - limit), min(m, i + limit))
        row_min = cur[0] if lo == 1 else big
        for j in range(lo, hi + 1):
            bj = b[j - 1]
            cost = 0 if ai == bj else 1
            value = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ai == b[j - 2] and a[i - 2] == bj and ai != bj:
                value = min(value, prev2[j - 2] + 1)
            cur[j] = value
            row_min = min(row_min, value)
        if limit is not None and row_min > limit:
            return limit + 1
        prev2, prev = prev, cur
    result = prev[m]
    return result if limit is None or result <= limit else limit + 1


@dataclass(frozen=True, slots=True)
class FuzzyForm:
    """One folded name form in the fuzzy tier: its budget and its anchors (offset in the form, text)."""

    form: str
    k: int
    anchors: tuple[tuple[int, str], ...]


@cache
def gram_table() -> Mapping[str, int]:
    """Texts per million of clean traffic holding each 4-character gram (grams rarer than 1 are left out)."""
    table: dict[str, int] = {}
    data = resources.files("matchers") / "data" / "anchor-grams.tsv"
    with data.open("r", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#") or not line.strip("\n"):
                continue
            gram, count = line.rstrip("\n").split("\t")
            table[gram] = int(count)
    return table


def anchor_frequency(anchor: str, table: Mapping[str, int]) -> int:
    """An upper bound on the texts per million holding ``anchor``: its rarest gram's count."""
    return min(table.get(anchor[i : i + GRAM], 0) for i in range(len(anchor) - GRAM + 1))


def plan(form: str, table: Mapping[str, int], cap: int | None = None) -> FuzzyForm | None:
    """The fuzzy plan of a folded form: budget and rarest anchors; ``None`` when it stays exact-only.

    Exact-only: a budget of 0 (fewer than 9 letters), or no cut whose every anchor is at most ``cap``
    (default :data:`ANCHOR_CAP`) per million. Of all cuts (a gap is one character; an anchor is at least
    :data:`MIN_ANCHOR` long and neither starts nor ends with a space), the one whose most frequent anchor
    is the rarest wins; of equals, the first.
    """
    k = budget(len(form) - form.count(" "))
    if k == 0:
        return None
    limit = ANCHOR_CAP if cap is None else cap
    n = len(form)
    get = table.get
    grams = [get(form[i : i + GRAM], 0) for i in range(n - GRAM + 1)]
    head = list(itertools.accumulate(grams, min))  # head[i]: rarest gram of form[: i + GRAM]
    tail = list(itertools.accumulate(reversed(grams), min))[::-1]  # tail[i]: of form[i:]
    # A gap may sit at p when both anchors beside it are long enough and neither ends on a space:
    # MIN_ANCHOR <= p <= n - MIN_ANCHOR - 1 and form[p - 1] != " " and form[p + 1] != " ".
    edge = [False] * MIN_ANCHOR
    inner = form[MIN_ANCHOR - 1 : n - MIN_ANCHOR - 1], form[MIN_ANCHOR + 1 : n - MIN_ANCHOR + 1]
    ok = [*edge, *[a != " " and b != " " for a, b in zip(*inner, strict=True)], *edge]
    best = _one_gap(grams, ok, head, tail) if k == 1 else _two_gaps(grams, ok, head, tail)
    if best is None or best[0] > limit:
        return None
    bounds = (0, *(g + 1 for g in best[1]))
    anchors = tuple((a, form[a:b]) for a, b in zip(bounds, (*best[1], n), strict=True))
    return FuzzyForm(form, k, anchors)


def planner(table: Mapping[str, int], cap: int | None = None) -> Callable[[str], FuzzyForm | None]:
    """:func:`plan` by ``table`` and ``cap``, for many forms: natively on the native engine
    (``native/src/planner.rs``, the same cut; a million-name list's build spent about a third of its time
    cutting forms in Python), else :func:`plan` itself."""
    limit = ANCHOR_CAP if cap is None else cap
    native = engine().anchor_planner
    if native is None:
        return functools.partial(plan, table=table, cap=limit)
    cut = native(dict(table), limit).plan

    def planned(form: str) -> FuzzyForm | None:
        found = cut(form)
        return None if found is None else FuzzyForm(form, found[0], tuple(found[1]))

    return planned


def _one_gap(
    grams: list[int], ok: list[bool], head: list[int], tail: list[int]
) -> tuple[int, tuple[int, ...]] | None:
    """The rarest cut into two anchors: (its worst anchor's frequency, (gap,)); ``None``: no cut."""
    best: tuple[int, tuple[int, ...]] | None = None
    for p, fits in enumerate(ok):
        if fits:
            worst = max(head[p - GRAM], tail[p + 1])
            if best is None or worst < best[0]:
                best = (worst, (p,))
    return best


def _two_gaps(
    grams: list[int], ok: list[bool], head: list[int], tail: list[int]
) -> tuple[int, tuple[int, ...]] | None:
    """The rarest cut into three anchors: (its worst anchor's frequency, (gap, gap)); ``None``: no cut."""
    best: tuple[int, tuple[int, ...]] | None = None
    n = len(ok)
    for p in range(n):
        if not ok[p] or (best is not None and head[p - GRAM] >= best[0]):
            continue
        middle: int | None = None
        for q in range(p + 1, n - MIN_ANCHOR):
            if q - GRAM >= p + 1:  # the middle anchor form[p + 1 : q] holds one more gram
                gram = grams[q - GRAM]
                middle = gram if middle is None or gram < middle else middle
            if middle is not None and ok[q]:
                worst = max(head[p - GRAM], middle, tail[q + 1])
                if best is None or worst < best[0]:
                    best = (worst, (p, q))
    return best


def verify(text: str, fuzzy: FuzzyForm, at: int, *, whole: bool) -> list[tuple[int, int, int]]:
    """:func:`verify_py`, natively on the native engine (``native/src/distance.rs``); the pure-Python one is
    its reference and the pure engine's (:mod:`matchers.backend`)."""
    native = engine().fuzzy_verify
    if native is None:
        return verify_py(text, fuzzy, at, whole=whole)
    return native(text, fuzzy.form, fuzzy.k, at, whole)


def verify_py(text: str, fuzzy: FuzzyForm, at: int, *, whole: bool) -> list[tuple[int, int, int]]:
    """Spans ``(start, end, distance)`` of folded ``text`` within the form's budget, not equal to it.

    ``at`` is where an anchor find puts the form's start. A span starts at a word start within ``k``
    of ``at`` and ends at a word end within ``k`` of ``at + len(form)``; with ``whole``, the span is
    the whole text. Never crosses texts: ``text`` is one field (or one reading of it).
    """
    k, form = fuzzy.k, fuzzy.form
    if whole:
        if abs(len(text) - len(form)) > k or not (abs(at) <= k):
            return []
        d = osa_distance(form, text, k)
        return [(0, len(text), d)] if 0 < d <= k else []
    out = []
    n = len(text)
    for start in range(max(0, at - k), min(n, at + k) + 1):
        if start > 0 and text[start - 1] != " ":
            continue
        if start < n and text[start] == " ":
            continue
        target = at + len(form)
        for end in range(max(start + 1, target - k), min(n, target + k) + 1):
            if end < n and text[end] != " ":
                continue
            if text[end - 1] == " ":
                continue
            d = osa_distance(form, text[start:end], k)
            if 0 < d <= k:
                out.append((start, end, d))
    return out


def fuzzy_spans(text: str, fuzzy: FuzzyForm, *, whole: bool) -> list[tuple[int, int, int]]:
    """Every span of folded ``text`` within the form's budget and not equal to it (the reference's way).

    Tries every span on word boundaries (the whole text only, with ``whole``): no anchors, no windows.
    """
    spans = [(0, len(text))] if whole else _word_spans(text)
    out = []
    for start, end in spans:
        d = osa_distance(fuzzy.form, text[start:end])
        if 0 < d <= fuzzy.k:
            out.append((start, end, d))
    return out


def _word_spans(text: str) -> list[tuple[int, int]]:
    """Every run of whole words of a folded text, as ``(start, end)``."""
    starts = [i for i in range(len(text)) if (i == 0 or text[i - 1] == " ") and text[i] != " "]
    ends = [i + 1 for i in range(len(text)) if (i + 1 == len(text) or text[i + 1] == " ") and text[i] != " "]
    return [(a, b) for a in starts for b in ends if b > a]
