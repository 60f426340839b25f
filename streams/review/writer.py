"""The review service's one transactional producer: every write is one Kafka transaction.

The service uses ONE fixed ``transactional.id`` (``--transactional-id``, default
``txscreen-review``): a second instance started with the same id fences the first (its next
commit fails with a fenced error and it stops), and on start ``init_transactions`` aborts any
transaction a killed predecessor left open. A release is its decision records and the event's
bytes on the cleared topic in one transaction: both are committed, or neither.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Final, NamedTuple

from confluent_kafka import KafkaError, KafkaException, Producer

from schemas.errors import BrokerError
from streams.kafka.clients import RDKAFKA_LOG, new_client
from streams.settings import KafkaSettings, masked

log = logging.getLogger(__name__)

#: Seconds each transactional call may block.
CALL_TIMEOUT: Final = 30.0
#: How often a retriable commit is tried again before the write is reported as failed (and aborted).
COMMIT_TRIES: Final = 3
_FENCED: Final = frozenset({KafkaError._FENCED, KafkaError.PRODUCER_FENCED})


class ReviewRecord(NamedTuple):
    """One record of a review write; a None value is a tombstone (an allowlist revoke)."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, str | bytes | None]]


class WriteFailed(BrokerError):
    """A write was aborted: nothing of it is visible to read_committed readers; it may be tried again."""


class Fenced(BrokerError):
    """Another instance took over the transactional id, the producer hit a fatal error, or a write's outcome
    is unknown (its commit failed and so did its abort): the service must stop, and a restart rebuilds."""


def producer_config(kafka: KafkaSettings, transactional_id: str) -> dict[str, Any]:
    """An idempotent transactional producer (acks=all) with the raw producer options."""
    config: dict[str, Any] = {
        **kafka.client_options.for_client("producer"),
        "bootstrap.servers": kafka.bootstrap_servers,
        "enable.idempotence": True,
        "acks": "all",
        "transactional.id": transactional_id,
        "transaction.timeout.ms": 10_000,
        "linger.ms": 0,
        "logger": RDKAFKA_LOG,
    }
    log.debug("review producer config: %s", masked(config))
    return config


class TransactionalWriter:
    """Writes a list of records in one transaction (one at a time: a lock serialises the writes)."""

    def __init__(
        self, kafka: KafkaSettings, transactional_id: str, on_fenced: Callable[[Fenced], None] | None = None
    ) -> None:
        self.transactional_id = transactional_id
        self._producer = new_client(Producer, producer_config(kafka, transactional_id))
        self._lock = threading.Lock()
        self._on_fenced = on_fenced
        self.fenced: Fenced | None = None

    def start(self, timeout: float = 120.0) -> None:
        """Register the transactional id: fences an older instance and aborts its open transaction."""
        try:
            self._producer.init_transactions(timeout)
        except KafkaException as exc:
            raise BrokerError(
                f"the review service could not start its transactions ({self.transactional_id}): "
                f"{exc.args[0].str()}."
            ) from exc
        log.info("transactional id %s registered: older instances are fenced", self.transactional_id)

    def write(self, records: Sequence[ReviewRecord]) -> None:
        """Produce ``records`` in one transaction and commit it (WriteFailed or Fenced: nothing visible)."""
        with self._lock:
            if self.fenced is not None:
                raise self.fenced
            producer = self._producer
            try:
                producer.begin_transaction()
                for record in records:
                    producer.produce(record.topic, record.value, record.key, headers=record.headers)
                self._commit()
            except KafkaException as exc:
                self._failed(exc)

    def _commit(self) -> None:
        for attempt in range(1, COMMIT_TRIES + 1):
            try:
                self._producer.commit_transaction(CALL_TIMEOUT)
                return
            except KafkaException as exc:
                error: KafkaError = exc.args[0]
                if not error.retriable() or attempt == COMMIT_TRIES:
                    raise
                log.warning("commit of a review write failed (%s); trying again", error.str())

    def _failed(self, exc: KafkaException) -> None:
        error: KafkaError = exc.args[0]
        if error.code() in _FENCED or error.fatal():
            self.fenced = Fenced(
                f"the review service was fenced or failed fatally ({error.str()}): another instance with "
                f"transactional id {self.transactional_id} took over."
            )
            log.error("%s", self.fenced)
            if self._on_fenced is not None:
                self._on_fenced(self.fenced)
            raise self.fenced from exc
        try:
            self._producer.abort_transaction(CALL_TIMEOUT)
        except KafkaException as abort_exc:
            # The commit may have gone through: the state could be behind the topics. Stop; a restart
            # rebuilds the truth from the topics (the same path as being fenced).
            self.fenced = Fenced(
                f"a review write failed ({error.str()}) and could not be aborted "
                f"({abort_exc.args[0].str()}): its outcome is unknown."
            )
            log.error("%s", self.fenced)
            if self._on_fenced is not None:
                self._on_fenced(self.fenced)
            raise self.fenced from exc
        raise WriteFailed(f"the write was not committed ({error.str()}); nothing of it is visible.") from exc

    def close(self) -> None:
        """Flush what is left (nothing, between writes)."""
        self._producer.flush(5.0)
