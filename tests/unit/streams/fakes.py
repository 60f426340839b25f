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
