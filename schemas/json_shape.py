"""The shape rules of an event's JSON text: unique member names and a bounded depth.

A payment event is I-JSON (RFC 7493): no object, at any depth, has two members of the same name
(after escapes are decoded: ``"n\\u0061me"`` is ``"name"``), and the text is UTF-8. Repeated names
would let a reader see a value the screener did not screen, since a cleared event is passed on as its
original bytes. Nesting is bounded too, so that every downstream parser (Python's ``json``, ``jq``,
orjson at 1,024 levels) can read what is cleared.

Depth counts objects and arrays: the event object is level 1, and each object or array inside one
adds a level (``{"a": [{"b": 1}]}`` is 3 levels deep). Scalars add none. At most
:data:`MAX_DEPTH` levels are allowed.

Both checks are for the full path (a small share of events), and stand alone: the native triage
applies the same rules but only ever sends such an event here. Neither recurses in Python, and the
depth is decided on the bytes before any parser that recurses sees them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import accumulate
from typing import Any, Final

import msgspec

#: The deepest nesting an event may have (the event object is level 1).
MAX_DEPTH: Final = 64
#: Longest rendering of one key in a reason, quotes included.
_SHOWN: Final = 40

# A JSON string, escapes included (the unrolled form: fast on long strings).
_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET: Final = bytes(sorted(set(range(256)) - set(b"{}[]")))
_STEP: Final = [0] * 256
_STEP[ord("{")] = _STEP[ord("[")] = 1
_STEP[ord("}")] = _STEP[ord("]")] = -1
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_decode: Final = msgspec.json.Decoder().decode
_encode: Final = msgspec.json.Encoder().encode


def nesting_depth(raw: bytes) -> int:
    """How many levels of objects and arrays ``raw`` nests, ignoring brackets inside strings."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKET)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def too_deep(raw: bytes) -> str | None:
    """The dead-letter reason when ``raw`` nests more than :data:`MAX_DEPTH` levels, else ``None``.

    Safe on any bytes, valid JSON or not: it reads them without recursion.
    """
    if raw.count(b"{") + raw.count(b"[") <= MAX_DEPTH:  # too few brackets to be too deep
        return None
    depth = nesting_depth(raw)
    if depth <= MAX_DEPTH:
        return None
    return f"event nests {depth} levels deep, more than the {MAX_DEPTH} allowed"


class _Repeated(Exception):
    """An object of the event repeats a member name."""


def _unique(pairs: list[tuple[str, Any]]) -> None:
    """``object_pairs_hook`` of the first pass: values are not kept, names are checked."""
    if len(pairs) > 1 and len({name for name, _ in pairs}) != len(pairs):
        raise _Repeated


class _Members(list[tuple[str, Any]]):
    """An object's members in document order (the second pass keeps them to find the path)."""


def repeated_key(raw: bytes) -> str | None:
    """The dead-letter reason when an object in ``raw`` repeats a member name, else ``None``.

    ``raw`` must be JSON that a stricter parser accepted, nesting at most :data:`MAX_DEPTH` levels
    (see :func:`too_deep`). The reason names the first repeat in document order and the path of the
    object holding it: ``repeated key "name" at $.creditor``. Text that is not UTF-8 is refused too.
    """
    try:
        text = raw.decode()  # strict: UTF-8 that encodes a surrogate is refused too
    except UnicodeDecodeError as exc:
        return f"input is not valid UTF-8 (byte {exc.start}); a payment event is UTF-8 JSON"
    if _surely_unique(raw):
        return None
    try:
        json.loads(text, object_pairs_hook=_unique, parse_int=len, parse_float=len)
    except _Repeated:
        pass
    except ValueError as exc:  # the stricter parser took it: cannot happen, but never clear what is unread
        return f"invalid JSON: {exc}"
    else:
        return None
    found = _first_repeat(json.loads(text, object_pairs_hook=_Members, parse_int=len, parse_float=len))
    if found is None:  # both passes read the same members: cannot happen
        return "an object of the event repeats a member name"
    name, path = found
    return f"repeated key {_show(name)} at {path}"


def _surely_unique(raw: bytes) -> bool:
    """True when no object in ``raw`` repeats a name, proved by counting colons; False when unsure.

    In JSON without ``\\u`` escapes, each colon is a member's or a literal one inside a string. A
    dictionary keeps one member per name, so ``raw`` has as many colons as its decoded and re-encoded
    form exactly when no name repeats, and more otherwise. All in C, about a fifth of the exact pass.
    """
    if b"\\u" in raw:  # an escape could write a colon the raw text does not show
        return False
    try:
        tree = _decode(raw)
    except msgspec.MsgspecError:  # e.g. a number beyond a double: the exact pass decides
        return False
    return raw.count(b":") == _encode(tree).count(b":")


#: A container being walked: its remaining members (name or index, value), the names seen, its path.
_Frame = tuple[Iterator[tuple[Any, object]], set[str] | None, str]


def _first_repeat(tree: object) -> tuple[str, str] | None:
    """The first repeated member name in document order, and the path of its object (no recursion)."""
    stack: list[_Frame] = []

    def enter(node: object, path: str) -> bool:
        if isinstance(node, _Members):
            stack.append((iter(node), set(), path))
        elif isinstance(node, list):
            stack.append((iter(enumerate(node)), None, path))
        else:
            return False
        return True

    enter(tree, "$")
    while stack:
        members, seen, path = stack[-1]
        for key, value in members:
            if seen is None:
                child = f"{path}[{key}]"
            elif key in seen:
                return key, path
            else:
                seen.add(key)
                child = path + _segment(key)
            if enter(value, child):
                break
        else:
            stack.pop()
    return None


def _segment(name: str) -> str:
    """A member's step in a path: ``.name``, or ``["other name"]`` when it is not a short identifier."""
    if len(name) < _SHOWN and _IDENTIFIER.fullmatch(name):
        return f".{name}"
    return f"[{_show(name)}]"


def _show(name: str) -> str:
    """A member name as a JSON string (invisible characters escaped), cut to a readable length."""
    shown = json.dumps(name)
    return shown if len(shown) <= _SHOWN else shown[: _SHOWN - 4] + '..."'
