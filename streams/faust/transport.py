"""Faust's aiokafka transport, reading the input ``read_committed`` as the confluent-kafka worker does.

faust-streaming reads ``read_uncommitted`` unless it runs transactions itself (exactly-once), so an
upstream producer's aborted transactions would be screened and routed. This transport builds the
same aiokafka consumer and only switches its isolation level before it starts; a Kafka test
(``test_faust_runner.py``) checks that records of an aborted transaction are never screened.
"""

from __future__ import annotations

from typing import Any, ClassVar

from faust.transport.drivers import aiokafka as driver
from faust.types import ConsumerT

from schemas.errors import BrokerError

READ_COMMITTED = "read_committed"


class _ReadCommittedConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka keeps the level as given and hands it to its fetcher in start(), which comes later.
        if not hasattr(consumer, "_isolation_level"):
            raise BrokerError(
                "this aiokafka version hides the consumer's isolation level; the Faust engine cannot "
                "read read_committed."
            )
        consumer._isolation_level = READ_COMMITTED
        return consumer


class _ReadCommittedConsumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ReadCommittedConsumerThread(self, loop=self.loop, beacon=self.beacon)


class ReadCommittedTransport(driver.Transport):
    """The aiokafka transport whose worker consumer reads ``read_committed``."""

    Consumer: ClassVar[type[ConsumerT]] = _ReadCommittedConsumer
