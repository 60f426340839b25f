"""Payment event v1: the typed codec for ``payment_event.v1.schema.json``.

Decoding and validation run in C (msgspec): one call per event checks types, required
fields, lengths, the RFC 3339 timestamp with its offset, the currency shape and the country
codes. What msgspec cannot express cheaply (the amount's decimal shape, blank names) is
checked by :func:`check_event`. Fields that are not declared are skipped by the decoder and
kept unchanged in every output, because outputs carry the original bytes. The rules on the JSON
text itself (no repeated key, at most 64 levels) are :mod:`schemas.json_shape`'s.
"""

from __future__ import annotations

import itertools
import re
import string
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta, Struct

from schemas.countries import ISO_3166_ALPHA2

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


#: ``amount_ok(text)`` is a match when a string amount has the decimal shape ``-?digits(.digits)?``.
amount_ok: Final = _AMOUNT_RE.fullmatch


def bad_amount(amount: str) -> str:
    """The dead-letter reason for a string amount that is not a decimal."""
    return f'amount must be a decimal string such as "1250.00" or a JSON number, got {amount!r}'


def check_event(event: PaymentEvent) -> str | None:
    """The checks msgspec does not make; ``None`` when the event is valid, else the reason.

    The screening core makes the same checks for a whole batch at once.
    """
    amount = event.amount
    if isinstance(amount, str) and amount_ok(amount) is None:
        return bad_amount(amount)
    if event.debtor.name.isspace():
        return "debtor.name must not be blank"
    if event.creditor.name.isspace():
        return "creditor.name must not be blank"
    return None
