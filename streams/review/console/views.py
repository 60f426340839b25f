"""What the console's pages show, as plain data: no HTTP, no templates (unit-tested on their own).

Payment text is attacker-controlled: nothing here builds HTML. A highlighted field is a list of
``(text, marked)`` segments that the template escapes; the CSV export neutralises cells a
spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from schemas.events import SCREENED_FIELDS

#: Statuses the queue shows by default: the cases someone still has to act on.
QUEUE_STATUSES: Final = ("open", "pending")
SORTS: Final = ("age", "amount", "list")
#: Cells a spreadsheet would evaluate (CSV injection): prefixed with a quote in the export.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def field_text(event: Mapping[str, Any], dotted: str) -> str | None:
    """The text at ``debtor.agent.name``-style path in an event, or None."""
    value: Any = event
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value if isinstance(value, str) else None


def highlight(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text`` cut into segments, ``True`` for the parts inside a span (overlapping spans merge)."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    segments: list[tuple[str, bool]] = []
    at = 0
    for start, end in merged:
        if start > at:
            segments.append((text[at:start], False))
        segments.append((text[start:end], True))
        at = end
    if at < len(text) or not segments:
        segments.append((text[at:], False))
    return segments


@dataclass(frozen=True, slots=True)
class FieldView:
    """One screened field of an event, cut into highlighted segments."""

    name: str
    segments: list[tuple[str, bool]]
    hit: bool


def screened_fields(event: Mapping[str, Any], hits: Sequence[Mapping[str, Any]]) -> list[FieldView]:
    """Each screened field the event has, with the matched text of its hits marked."""
    views = []
    for name in SCREENED_FIELDS:
        text = field_text(event, name)
        if text is None:
            continue
        spans = [(int(h["start"]), int(h["end"])) for h in hits if h.get("field") == name and "start" in h]
        views.append(FieldView(name, highlight(text, spans), bool(spans)))
    return views


def four_eyes(case: Mapping[str, Any], approvals: int) -> str:
    """The case's four-eyes state in plain words."""
    status = case.get("status")
    proposal = case.get("proposal")
    approvers = [a for a in case.get("approvers", ()) if not proposal or a != proposal.get("actor")]
    if status == "open":
        return "Open: nobody has proposed a decision yet."
    if status == "pending" and proposal:
        what = "release" if proposal.get("action") == "propose-release" else "confirmation of the block"
        agreed = 1 + len(approvers)
        left = approvals - agreed
        who = f", approved by {', '.join(approvers)}" if approvers else ""
        second = "a second approver" if agreed == 1 else f"{left} more approver{'s' if left > 1 else ''}"
        return f"{what.capitalize()} proposed by {proposal.get('actor')}{who}; waiting for {second}."
    if status in ("released", "confirmed"):
        return f"{str(status).capitalize()}: decided with four eyes; see the history below."
    return f"Status: {status}."


def amount_of(event: Mapping[str, Any]) -> Decimal | None:
    """The event's amount as a number (None when it is not one)."""
    try:
        return Decimal(str(event.get("amount")))
    except (InvalidOperation, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One case in the queue."""

    case_id: str
    event_id: str
    status: str
    age_seconds: float
    amount: Decimal | None
    currency: str
    debtor: str
    creditor: str
    lists: tuple[str, ...]
    entities: tuple[tuple[str, str], ...]  # (entity id, entity name)
    proposed_by: str | None

    @property
    def amount_text(self) -> str:
        """``1,250.00 USD``."""
        return f"{self.amount:,.2f} {self.currency}" if self.amount is not None else "?"


def queue_row(case: Mapping[str, Any], event: Mapping[str, Any]) -> QueueRow:
    """A queue row from a case (``ReviewService.case_json``) and its event."""
    hits = case.get("hits") or []
    proposal = case.get("proposal") or {}
    return QueueRow(
        case_id=str(case.get("case_id")),
        event_id=str(case.get("event_id") or ""),
        status=str(case.get("status")),
        age_seconds=float(case.get("age_seconds") or 0.0),
        amount=amount_of(event),
        currency=str(event.get("currency") or ""),
        debtor=field_text(event, "debtor.name") or "",
        creditor=field_text(event, "creditor.name") or "",
        lists=tuple(dict.fromkeys(str(h.get("list")) for h in hits)),
        entities=tuple(dict.fromkeys((str(h.get("entity_id")), str(h.get("entity_name"))) for h in hits)),
        proposed_by=proposal.get("actor"),
    )


@dataclass(frozen=True, slots=True)
class QueueQuery:
    """The queue's filters, search and order, from the page's query string."""

    status: str = ""
    list_id: str = ""
    entity: str = ""
    q: str = ""
    sort: str = "age"
    descending: bool = True
    statuses: tuple[str, ...] = field(default=QUEUE_STATUSES)

    @staticmethod
    def parse(params: Mapping[str, str]) -> QueueQuery:
        """The query from request parameters (unknown values fall back to the defaults)."""
        status = params.get("status", "").strip()
        statuses = (status,) if status in ("open", "pending", "released", "confirmed") else QUEUE_STATUSES
        sort = params.get("sort", "age")
        return QueueQuery(
            status=status if status in statuses else "",
            list_id=params.get("list", "").strip()[:200],
            entity=params.get("entity", "").strip()[:200],
            q=params.get("q", "").strip()[:200],
            sort=sort if sort in SORTS else "age",
            descending=params.get("dir", "desc") != "asc",
            statuses=statuses,
        )

    def params(self, **changes: str) -> dict[str, str]:
        """The query string's parameters, with ``changes`` (for sort links and the CSV link)."""
        params = {
            "status": self.status,
            "list": self.list_id,
            "entity": self.entity,
            "q": self.q,
            "sort": self.sort,
            "dir": "desc" if self.descending else "asc",
        }
        params.update(changes)
        return {k: v for k, v in params.items() if v}


def select(rows: Iterable[QueueRow], query: QueueQuery) -> list[QueueRow]:
    """The rows the query keeps, in its order."""
    needle = query.q.casefold()

    def keep(row: QueueRow) -> bool:
        if row.status not in query.statuses:
            return False
        if query.list_id and query.list_id not in row.lists:
            return False
        if query.entity and not any(query.entity in (eid, name) for eid, name in row.entities):
            return False
        if needle:
            haystack = [row.event_id, row.case_id, row.debtor, row.creditor]
            haystack += [e for pair in row.entities for e in pair]
            return any(needle in text.casefold() for text in haystack)
        return True

    kept = [row for row in rows if keep(row)]
    if query.sort == "amount":
        kept.sort(key=lambda r: (r.amount is not None, r.amount or Decimal(0)), reverse=query.descending)
    elif query.sort == "list":
        kept.sort(key=lambda r: (r.lists, r.age_seconds), reverse=query.descending)
    else:
        kept.sort(key=lambda r: r.age_seconds, reverse=query.descending)
    return kept


def _cell(value: object) -> str:
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def queue_csv(rows: Iterable[QueueRow]) -> str:
    """The rows as CSV (cells that would start a spreadsheet formula are quoted with ``'``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["case_id", "event_id", "status", "age_seconds", "amount", "currency", "debtor", "creditor",
         "lists", "entity_ids", "entity_names", "proposed_by"]
    )  # fmt: skip
    for r in rows:
        amount = r.amount if r.amount is not None else ""
        entity_ids = " ".join(e for e, _ in r.entities)
        names = "; ".join(n for _, n in r.entities)
        values = [r.case_id, r.event_id, r.status, round(r.age_seconds), amount, r.currency, r.debtor]
        values += [r.creditor, " ".join(r.lists), entity_ids, names, r.proposed_by or ""]
        writer.writerow([_cell(v) for v in values])
    return out.getvalue()


def age_text(seconds: float) -> str:
    """``3 d 4 h``, ``2 h 5 min``, ``4 min``, ``12 s``."""
    s = int(max(seconds, 0))
    if s >= 86400:
        return f"{s // 86400} d {s % 86400 // 3600} h"
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60} min"
    if s >= 60:
        return f"{s // 60} min"
    return f"{s} s"
