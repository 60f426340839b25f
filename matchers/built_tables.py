"""Tables built once per process from Unicode's database, which a start-up may be handed ready-made.

The fold's tables (:mod:`matchers.normalize`) are worked out from :mod:`unicodedata`, a loop over every
assigned code point each: about 0.4 s of Python in all. Built on first use, they made the first batch
a process screened take ten times as long as the next (277 against 25 ms for 2,000 events), and the
one the triage tables need cost the start-up 0.19 s. A :class:`Table` is built on first use as
:func:`functools.cache` would, or takes the value :func:`seed` hands it: the build cache
(:mod:`streams.build_cache`) keeps :func:`built` next to the automaton, and its key covers this
package's code and Unicode's version, the only inputs of these tables. A value of the wrong type is
refused (the table is then built as usual): a seed can make a start-up faster, never change a fold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Table(Generic[T]):
    """A value built once per process by ``build`` (when first asked for), unless seeded first."""

    def __init__(self, build: Callable[[], T], kind: type) -> None:
        self._build = build
        self._kind = kind
        self._value: T | None = None
        #: Whether the value was handed in (:meth:`offer`) rather than built here.
        self.seeded = False
        self.name = f"{build.__module__}.{build.__qualname__}"
        self.__doc__ = build.__doc__
        self.__wrapped__ = build

    def __call__(self) -> T:
        value = self._value
        if value is None:
            value = self._value = self._build()
        return value

    @property
    def ready(self) -> bool:
        """Whether the value is at hand (built or seeded)."""
        return self._value is not None

    def offer(self, value: object) -> bool:
        """Take ``value`` if not built yet and of the table's type; whether it was taken."""
        if self._value is not None or not isinstance(value, self._kind):
            return False
        self._value = value  # type: ignore[assignment]  # checked against the table's type above
        self.seeded = True
        return True


_TABLES: dict[str, Table[Any]] = {}


def table(kind: type) -> Callable[[Callable[[], T]], Table[T]]:
    """Decorator: the function builds a :class:`Table` of type ``kind`` (registered for :func:`seed`)."""

    def register(build: Callable[[], T]) -> Table[T]:
        made = Table(build, kind)
        _TABLES[made.name] = made
        return made

    return register


def built() -> dict[str, object]:
    """Every registered table's value by name, building those not built yet (for the build cache)."""
    return {name: made() for name, made in _TABLES.items()}


def seed(values: Mapping[str, object]) -> int:
    """Hand registered tables their values (those not built yet, of their type); how many were taken."""
    return sum(made.offer(values[name]) for name, made in _TABLES.items() if name in values)
