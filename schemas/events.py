"""Payment event v1: the typed codec for ``payment_event.v1.schema.json``.

:func:`decode_batch` is the one Python owner of event validity: for a batch of raw values it
gives each valid event, or the reason it is not one. Decoding and validation run in C (msgspec):
one call per event checks types, required fields, lengths, the RFC 3339 timestamp with its
offset, the currency shape and the country codes. What msgspec cannot express cheaply (the
amount's decimal shape, blank names) is checked around it, the blank names for the whole batch
at once. Fields that are not declared are skipped by the decoder and kept unchanged in every
output, because outputs carry the original bytes. The rules on the JSON text itself (no repeated
key, at most 64 levels) are :mod:`schemas.json_shape`'s. The native triage
(``native/src/event.rs``) is stricter than or equal to these rules; a test compares its field
catalogue with the structs below.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta, Struct

from schemas.countries import ISO_3166_ALPHA2
from schemas.json_shape import repeated_key, too_deep

#: Events larger than this many bytes are dead-lettered unread.
MAX_EVENT_BYTES: Final = 1024 * 1024
#: Longest accepted event id.
MAX_ID_LENGTH: Final = 128

#: The five screened fields, in the order the screening core lays them out per event.
SCREENED_FIELDS: Final = (
    "debtor.name",
    "creditor.name",
    "debtor.agent.name",
    "creditor.agent.name",
    "remittance",
)
#: The fields that may match a whole-field name (party names).
PARTY_NAME_FIELDS: Final = frozenset({"debtor.name", "creditor.name"})
_FIELDS: Final = len(SCREENED_FIELDS)
_EMPTY: Final = ("",) * _FIELDS

if TYPE_CHECKING:  # the checker sees plain strings; msgspec sees the literal sets and checks them in C
    _COUNTRY = str
    _CURRENCY = str
else:
    _COUNTRY = Literal[tuple(sorted(ISO_3166_ALPHA2))]
    _CURRENCY = Literal[tuple("".join(c) for c in itertools.product(string.ascii_uppercase, repeat=3))]
_AMOUNT_RE: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


class Agent(Struct, gc=False):
    """A party's bank: BIC and name, both optional."""

    bic: str | None = None
    name: str | None = None


class Party(Struct, gc=False):
    """Debtor or creditor: a non-empty name and optional account, address, country and agent."""

    name: Annotated[str, Meta(min_length=1)]
    account: str | None = None
    address: str | dict[str, Any] | None = None
    country: _COUNTRY | None = None
    agent: Agent | None = None


class PaymentEvent(Struct, gc=False):
    """The declared fields of a payment event v1 (other fields are allowed and ignored here)."""

    id: Annotated[str, Meta(min_length=1, max_length=MAX_ID_LENGTH)]
    created_at: Annotated[datetime, Meta(tz=True)]
    amount: str | int | float
    currency: _CURRENCY
    debtor: Party
    creditor: Party
    remittance: str | None = None


_decoder: Final = msgspec.json.Decoder(PaymentEvent)
decode_event = _decoder.decode

_FRIENDLY = (
    (
        re.compile(r"Invalid enum value '(.*)' - at `\$\.currency`"),
        "currency must be three capital letters, got {!r}",
    ),
    (
        re.compile(r"Invalid enum value '(.*)' - at `\$\.(\w+)\.country`"),
        "{1}.country must be an ISO 3166 alpha-2 code, got {0!r}",
    ),
    (
        re.compile(r"Expected `datetime` with a timezone component - at `\$\.created_at`"),
        "created_at must be an RFC 3339 timestamp with an offset",
    ),
    (
        re.compile(r"Invalid RFC3339 encoded datetime - at `\$\.created_at`"),
        "created_at must be an RFC 3339 timestamp with an offset",
    ),
    (re.compile(r"Expected `str` of length <= 128 - at `\$\.id`"), "id is longer than 128 characters"),
    (re.compile(r"Expected `str` of length >= 1 - at `\$\.(.*)`"), "{} must not be empty"),
    (re.compile(r"Object missing required field `(\w+)`(?: - at `\$\.(.*)`)?"), "missing required field {}"),
    (re.compile(r"Expected `object`, got `(\w+)`$"), "event must be a JSON object, got {}"),
    (re.compile(r"Expected `(.+)`, got `(\w+)` - at `\$\.(.*)`"), "{2} must be {0}, got {1}"),
)


def explain(error: msgspec.MsgspecError, raw: bytes = b"") -> str:
    """A human-readable reason for a decode/validation error (the dead letter's ``error``)."""
    text = str(error)
    if not isinstance(error, msgspec.ValidationError):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return f"input is not valid UTF-8 (byte {exc.start}); a payment event is UTF-8 JSON"
    for pattern, template in _FRIENDLY:
        m = pattern.fullmatch(text)
        if m:
            groups = [g for g in m.groups() if g is not None]
            if template.startswith("missing required field") and len(groups) == 2:
                return f"missing required field {groups[1]}.{groups[0]}"
            return template.format(*groups)
    if isinstance(error, msgspec.DecodeError) and not isinstance(error, msgspec.ValidationError):
        return f"invalid JSON: {text}"
    return f"invalid event: {text}"


_amount_ok: Final = _AMOUNT_RE.fullmatch


def _bad_amount(amount: str) -> str:
    """The dead-letter reason for a string amount that is not a decimal."""
    return f'amount must be a decimal string such as "1250.00" or a JSON number, got {amount!r}'


def decode_batch(
    raws: Sequence[bytes | None], max_event_bytes: int
) -> tuple[list[PaymentEvent | None], dict[int, str], list[str]]:
    """Decode and validate each input: ``(events, errors, texts)``.

    ``events[i]`` is input ``i``'s event, or ``None`` when ``errors[i]`` says why it is not a valid
    payment event (empty, a tombstone, over ``max_event_bytes``, not the schema's shape, too deep, a
    repeated key, an amount that is not a decimal, a blank party name). ``texts`` holds each input's
    :data:`SCREENED_FIELDS` texts, five per input (slot = input * 5 + field), empty for an invalid one.

    This loop is the only per-event Python work of the screening core's full path: keep it lean.
    """
    events: list[PaymentEvent | None] = [None] * len(raws)
    errors: dict[int, str] = {}
    texts: list[str] = []
    extend = texts.extend
    decode = decode_event
    for i, raw in enumerate(raws):
        if not raw:
            errors[i] = "empty message" if raw is not None else "tombstone (null value)"
            extend(_EMPTY)
            continue
        if len(raw) > max_event_bytes:
            errors[i] = f"event is {len(raw)} bytes, larger than the {max_event_bytes}-byte limit"
            extend(_EMPTY)
            continue
        # Depth first: msgspec recurses, and fails on a deep enough value even where it skips it.
        error = too_deep(raw)
        if error is None:
            try:
                event = decode(raw)
            except msgspec.MsgspecError as exc:
                error = explain(exc, raw)
            else:
                error = repeated_key(raw)
        if error is not None:
            errors[i] = error
            extend(_EMPTY)
            continue
        amount = event.amount
        if amount.__class__ is str and _amount_ok(amount) is None:
            errors[i] = _bad_amount(amount)
            extend(_EMPTY)
            continue
        events[i] = event
        debtor, creditor = event.debtor, event.creditor
        dagent, cagent = debtor.agent, creditor.agent
        extend(
            (
                debtor.name,
                creditor.name,
                (dagent.name or "") if dagent is not None else "",
                (cagent.name or "") if cagent is not None else "",
                event.remittance or "",
            )
        )
    _reject_blank_names(events, errors, texts)
    return events, errors, texts


def _reject_blank_names(events: list[PaymentEvent | None], errors: dict[int, str], texts: list[str]) -> None:
    """Dead-letter events whose debtor or creditor name is only whitespace (checked per batch in C)."""
    for field_index in (0, 1):
        names = texts[field_index::_FIELDS]
        if not any(map(str.isspace, names)):
            continue
        for i, name in enumerate(names):
            if name.isspace() and events[i] is not None:
                errors[i] = f"{SCREENED_FIELDS[field_index]} must not be blank"
                events[i] = None
                texts[i * _FIELDS : i * _FIELDS + _FIELDS] = _EMPTY
