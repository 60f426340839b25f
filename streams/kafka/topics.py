"""Topic administration: create the four topics (idempotent), delete them, check they exist.

Every failure is a :class:`~schemas.errors.BrokerError` naming the topic, so a command can stop
with one clear sentence before it consumes anything.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.errors import BrokerError

log = logging.getLogger(__name__)

ADMIN_TIMEOUT = 30.0


def existing_topics(admin: AdminClient, timeout: float = ADMIN_TIMEOUT) -> set[str]:
    """The names of the topics in the cluster; BrokerError when it does not answer."""
    try:
        return set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        raise BrokerError(
            f"the Kafka cluster did not answer a metadata request: {exc.args[0].str()}."
        ) from exc


def partition_counts(
    admin: AdminClient, names: Sequence[str], timeout: float = ADMIN_TIMEOUT
) -> dict[str, int]:
    """How many partitions each existing topic of ``names`` has (BrokerError if the cluster is silent)."""
    try:
        topics = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise BrokerError(
            f"the Kafka cluster did not answer a metadata request: {exc.args[0].str()}."
        ) from exc
    return {name: len(topics[name].partitions) for name in names if name in topics}


def require_topics(admin: AdminClient, names: Sequence[str], timeout: float = ADMIN_TIMEOUT) -> None:
    """BrokerError unless every topic exists (checked before a worker consumes anything)."""
    missing = [name for name in names if name not in existing_topics(admin, timeout)]
    if missing:
        raise BrokerError(
            f"topic {', '.join(missing)} does not exist; create the topics with `txscreen topics create`.",
            topic=missing[0],
        )


def create_topics(
    admin: AdminClient,
    names: Sequence[str],
    *,
    partitions: int,
    replication_factor: int = -1,
    timeout: float = ADMIN_TIMEOUT,
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; returns those created (a topic that exists is fine).

    ``replication_factor=-1`` takes the broker's ``default.replication.factor``. A topic that is
    still being deleted is retried until ``timeout``. ``configs`` gives topic configurations by name.
    """
    deadline = time.monotonic() + timeout
    created: list[str] = []
    pending = list(dict.fromkeys(names))
    while pending:
        new = [
            NewTopic(name, partitions, replication_factor, config=dict((configs or {}).get(name, {})))
            for name in pending
        ]
        futures = admin.create_topics(new, operation_timeout=timeout, request_timeout=timeout)
        retry: list[str] = []
        for name, future in futures.items():
            try:
                future.result()
            except KafkaException as exc:
                error: KafkaError = exc.args[0]
                if error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                    if "marked for deletion" in error.str() and time.monotonic() < deadline:
                        retry.append(name)
                    continue
                raise BrokerError(f"could not create topic {name}: {error.str()}.", topic=name) from exc
            created.append(name)
            log.info("created topic %s (%d partitions)", name, partitions)
        if retry:
            time.sleep(0.5)
        pending = retry
    return created


def delete_topics(admin: AdminClient, names: Sequence[str], *, timeout: float = ADMIN_TIMEOUT) -> list[str]:
    """Delete the topics that exist; returns those deleted, once the cluster no longer lists them."""
    present = [name for name in dict.fromkeys(names) if name in existing_topics(admin, timeout)]
    if not present:
        return []
    deleted: list[str] = []
    for name, future in admin.delete_topics(present, operation_timeout=timeout).items():
        try:
            future.result()
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                continue
            raise BrokerError(f"could not delete topic {name}: {error.str()}.", topic=name) from exc
        deleted.append(name)
        log.info("deleted topic %s", name)
    deadline = time.monotonic() + timeout
    while set(deleted) & existing_topics(admin, timeout) and time.monotonic() < deadline:
        time.sleep(0.2)
    return deleted
