"""Stand-ins for Kafka clients in the unit tier (no broker)."""

from __future__ import annotations

from typing import Any


class RecordingProducer:
    """Stands in for confluent_kafka.Producer: keeps every produce call."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def produce(self, topic: str, value: bytes, key: bytes | None = None, **kwargs: Any) -> None:
        self.records.append({"topic": topic, "value": value, "key": key, "headers": kwargs.get("headers")})

    def poll(self, _timeout: float = 0) -> int:
        return 0


class LaggingConsumer:
    """Stands in for confluent_kafka.Consumer's lag look-ups: one partition at ``position``, whose last
    fetch saw the end at ``cached_end`` while the broker has ``broker_end`` (a stalled fetch when they
    differ); ``broker_answers`` False makes the broker's look-up time out."""

    def __init__(self, position: int = 10, cached_end: int = 10, broker_end: int = 50) -> None:
        self.position_at, self.cached_end, self.broker_end = position, cached_end, broker_end
        self.broker_answers = True
        self.positions_known = True
        self.asked_broker = 0

    def assignment(self) -> list[Any]:
        from confluent_kafka import TopicPartition

        return [TopicPartition("payments", 0)]

    def position(self, partitions: list[Any]) -> list[Any]:
        from confluent_kafka import KafkaError, KafkaException, TopicPartition

        if not self.positions_known:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT))
        return [TopicPartition(tp.topic, tp.partition, self.position_at) for tp in partitions]

    def get_watermark_offsets(
        self, tp: Any, timeout: float | None = None, cached: bool = False
    ) -> tuple[int, int]:
        from confluent_kafka import KafkaError, KafkaException

        if cached:
            return 0, self.cached_end
        self.asked_broker += 1
        if not self.broker_answers:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT))
        return 0, self.broker_end
