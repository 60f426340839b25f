"""A consumer that stopped fetching: events wait past its position, and it consumes nothing.

After a broker restart, librdkafka's consumer was seen (rarely: once in about ten restarts, on a loaded
machine) to keep its partitions, report no error and fetch nothing, while its cached partition ends
said it was caught up, so that the worker idled with events waiting. The worker watches for it
(:class:`FetchStallWatch`): once it has consumed nothing for :data:`PROBE_AFTER` seconds with no
transaction open, it asks the broker for the end of each assigned partition (not the cached one), every
:data:`PROBE_EVERY` seconds. Where committed events wait past the consumer's position it seeks the
partition to that position, which restarts its fetch, and says so. If it still consumes nothing for
:data:`GIVE_UP_AFTER` seconds, it stops with a BrokerError (exit 2), so that a restart resumes from the
committed offsets; exactly-once is untouched either way (a seek to the position re-reads nothing).

Events past the position that the consumer may not read yet (an input transaction still open, which
``read_committed`` waits for) look the same for as long as the transaction stays open: a producer
that holds one open for minutes gets the seek and, past :data:`GIVE_UP_AFTER`, restarts. Aborted
records and transaction markers at a partition's end do not: the position moves past them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaException, TopicPartition

from schemas.errors import BrokerError

log = logging.getLogger(__name__)

#: Seconds without a consumed event (and no open transaction) before the broker is asked.
PROBE_AFTER = 30.0
#: Seconds between two questions to the broker.
PROBE_EVERY = 15.0
#: Seconds after the seek without a consumed event before the worker stops.
GIVE_UP_AFTER = 120.0
#: Seconds each question to the broker may take.
QUERY_TIMEOUT = 5.0


class FetchStallWatch:
    """Seeks a stalled consumer's partitions to their positions, and gives up if that does not help."""

    def __init__(
        self,
        topic: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        probe_after: float = PROBE_AFTER,
        give_up_after: float = GIVE_UP_AFTER,
    ) -> None:
        self.topic = topic
        self._clock = clock
        self._probe_after = probe_after
        self._give_up_after = give_up_after
        self._probed_at = float("-inf")
        self._sought_at: float | None = None  # when the stalled partitions were sought to their positions

    def check(self, consumer: Consumer, idle_since: float) -> None:
        """Probe if idle since ``idle_since`` long enough; seek, or raise BrokerError, on a stall."""
        now = self._clock()
        if self._sought_at is not None and idle_since > self._sought_at:
            self._sought_at = None  # it consumed after the seek: that stall is over
        if now - idle_since < self._probe_after:
            return
        if now - self._probed_at < PROBE_EVERY:
            return
        self._probed_at = now
        waiting = self._waiting(consumer)
        if not waiting:
            self._sought_at = None
            return
        topic = self.topic
        described = ", ".join(f"{topic}[{tp.partition}]@{tp.offset} ({n:,} after it)" for tp, n in waiting)
        if self._sought_at is None:
            log.warning(
                "consumed nothing for %.0f s though events wait past the consumer's position: %s; "
                "seeking there to restart the fetch",
                now - idle_since,
                described,
            )
            for tp, _ in waiting:
                try:
                    consumer.seek(tp)
                except KafkaException as exc:
                    log.warning("seeking %s[%d]: %s", self.topic, tp.partition, exc.args[0].str())
            self._sought_at = now
            return
        if now - self._sought_at >= self._give_up_after:
            raise BrokerError(
                f"the consumer has consumed nothing for {now - idle_since:.0f} s, "
                f"{now - self._sought_at:.0f} s of it after a seek, though events wait past its position: "
                f"{described} (a stalled librdkafka fetch, as seen after a broker restart); stopping so "
                "that a restart resumes from the committed offsets."
            )

    def _waiting(self, consumer: Consumer) -> list[tuple[TopicPartition, int]]:
        """Each assigned partition with events past the consumer's position (the committed offset where
        it has none yet), and how many; none when the broker does not answer (an outage is no stall)."""
        try:
            assigned = consumer.assignment()
            if not assigned:
                return []
            positions = consumer.position(assigned)
            unknown = [tp for tp in positions if tp.offset < 0]
            if unknown:
                committed = {tp.partition: tp for tp in consumer.committed(unknown, timeout=QUERY_TIMEOUT)}
                positions = [committed.get(tp.partition, tp) if tp.offset < 0 else tp for tp in positions]
            waiting = []
            for tp in positions:
                if tp.offset < 0:
                    continue
                _low, high = consumer.get_watermark_offsets(tp, timeout=QUERY_TIMEOUT, cached=False)
                if high > tp.offset:
                    waiting.append((TopicPartition(tp.topic, tp.partition, tp.offset), high - tp.offset))
            return waiting
        except KafkaException:
            return []
