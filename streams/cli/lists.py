"""``txscreen lists fetch | publish | status``: the official files, and list versions on the watchlist topic.

``fetch`` downloads and verifies the publishers' files (:mod:`streams.cli.lists_fetch`, :mod:`streams.feeds`).

``publish SRC...`` loads the sources as ``--watchlist`` does and publishes them as one version
(:mod:`streams.watchlists.publish`); ``status`` reads the topic and shows the current version, each
list's counts and hashes, what changed from the previous version and the versions skipped
(:mod:`streams.watchlists.topic`). Workers follow the topic with ``txscreen run --watchlist-topic``.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
from datetime import UTC, datetime
from typing import Any

import orjson
from confluent_kafka.admin import AdminClient

from schemas.errors import ConfigError, WatchlistError
from streams.cli.lists_fetch import add_fetch_verb
from streams.kafka.clients import admin_config, check_options, new_client
from streams.kafka.topics import existing_topics
from streams.settings import Setting, add_kafka_arguments, kafka_settings
from streams.watchlists.codec import Changes, changes
from streams.watchlists.publish import parse_expectations, publish
from streams.watchlists.topic import DEFAULT_TOPIC, TopicHistory, read_history


def _keep(raw: str, where: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{where} must be a whole number of at least 1, not {raw!r}.")
    return value


LISTS_TOPIC = Setting(
    "watchlist_topic",
    "--watchlist-topic",
    "TXSCREEN_WATCHLIST_TOPIC",
    DEFAULT_TOPIC,
    "the compacted one-partition topic list versions are published to (created by the first publish)",
    metavar="TOPIC",
)
PUBLISHER = Setting(
    "publisher",
    "--publisher",
    "TXSCREEN_PUBLISHER",
    None,
    "who publishes, as the manifest records it; none means user@host of the publishing process",
    metavar="NAME",
)
KEEP_VERSIONS = Setting(
    "keep_versions",
    "--keep",
    "TXSCREEN_KEEP_VERSIONS",
    5,
    "list versions kept on the topic; a publish tombstones the records of older ones (compaction drops them)",
    parse=_keep,
    metavar="N",
)
#: The settings of ``txscreen lists`` beyond the Kafka ones, in the order of the README table.
LISTS_TABLE_SETTINGS: tuple[Setting, ...] = (LISTS_TOPIC, PUBLISHER, KEEP_VERSIONS)


def default_publisher() -> str:
    """``user@host`` of the publishing process (the login name comes from the environment: read here)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``lists fetch``, ``lists publish`` and ``lists status`` to the ``txscreen`` parser."""
    lists = subparsers.add_parser(
        "lists",
        help="fetch the official list files, publish list versions to the watchlist topic, show its status",
    )
    verbs = lists.add_subparsers(dest="lists_command", metavar="VERB", required=True)
    add_fetch_verb(verbs)
    add_publish_parser(verbs)
    add_status_parser(verbs)


def add_publish_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``lists publish SRC...``."""
    publish_cmd = verbs.add_parser(
        "publish",
        help="publish the lists as one version (one Kafka transaction) to the watchlist topic",
        description="Load SRC... as --watchlist does (fail closed) and publish them as one version. Refused "
        "(exit 2, nothing written): a list with no entity, a list losing over 10%% of its entities from the "
        "current version (unless --allow-shrink), a source whose sha256 is not --expect-sha256.",
    )
    publish_cmd.add_argument(
        "sources", nargs="+", metavar="SRC", help="a --watchlist source (repeat for more)"
    )
    add_kafka_arguments(publish_cmd)
    for setting in LISTS_TABLE_SETTINGS:
        setting.add_to(publish_cmd)
    publish_cmd.add_argument(
        "--allow-shrink", action="store_true", help="publish even if a list loses over 10%% of its entities"
    )
    publish_cmd.add_argument(
        "--expect-sha256",
        action="append",
        default=[],
        metavar="[SRC=]HEX",
        help="refuse unless the source's sha256 is HEX (a file's: sha256sum FILE; repeatable; SRC= may be "
        "left out when one source is published)",
    )
    publish_cmd.set_defaults(handler=_publish)


def add_status_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``lists status``."""
    status = verbs.add_parser(
        "status", help="the current list version, its lists, what changed, and skipped versions"
    )
    add_kafka_arguments(status)
    LISTS_TOPIC.add_to(status)
    status.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    status.set_defaults(handler=_status)


def _publish(args: argparse.Namespace) -> int:
    kafka = kafka_settings(args, os.environ)
    check_options(kafka)
    topic = LISTS_TOPIC.value(args, os.environ)
    sources = list(args.sources)
    done = publish(
        kafka,
        topic,
        sources,
        publisher=PUBLISHER.value(args, os.environ) or default_publisher(),
        at=datetime.now(UTC),
        allow_shrink=args.allow_shrink,
        expect_sha256=parse_expectations(args.expect_sha256, sources),
        keep=KEEP_VERSIONS.value(args, os.environ),
    )
    manifest = done.manifest
    if not done.written:
        print(f"version {manifest.version} is already the current version of {topic}: nothing published")
        return 0
    print(f"published version {manifest.version} to {topic} ({done.records} records, one transaction)")
    for info in manifest.lists:
        print(f"  {info.list_id}: {info.entities:,} entities, {info.names:,} names, sha256 {info.sha256}")
    if done.changes is not None:
        print(f"changes from {done.previous}: {done.changes.summary()}")
    if done.tombstoned:
        print(f"tombstoned {done.tombstoned} records of older versions (--keep)")
    return 0


def status_report(history: TopicHistory) -> dict[str, Any]:
    """The status as a JSON-ready dict: current, its lists, changes from the previous good one, skipped."""
    good = history.latest_good()
    report: dict[str, Any] = {"current": None, "previous": None, "changes": None}
    if good is not None:
        candidate, lists = good
        manifest = candidate.manifest
        report["current"] = {
            "version": manifest.version,
            "published_at": manifest.published_at,
            "publisher": manifest.publisher,
            "lists": [
                {
                    "list_id": info.list_id,
                    "source": info.source,
                    "source_date": info.source_date,
                    "sha256": info.sha256,
                    "content_hash": info.content_hash,
                    "entities": info.entities,
                    "names": info.names,
                }
                for info in manifest.lists
            ],
        }
        for older in reversed(history.candidates[: history.candidates.index(candidate)]):
            if older.version == candidate.version:
                continue
            try:
                previous = older.build()
            except WatchlistError:
                continue
            diff = changes(previous, lists)
            report["previous"] = {"version": older.version, "published_at": older.manifest.published_at}
            report["changes"] = {"added": diff.added, "removed": diff.removed, "changed": diff.changed}
            break
    report["skipped"] = [
        {"version": s.version, "key": s.key, "offset": s.offset, "reason": s.reason} for s in history.skipped
    ]
    report["versions"] = len({c.version for c in history.candidates})
    return report


def _status(args: argparse.Namespace) -> int:
    kafka = kafka_settings(args, os.environ)
    check_options(kafka)
    topic = LISTS_TOPIC.value(args, os.environ)
    if topic not in existing_topics(new_client(AdminClient, admin_config(kafka))):
        history = TopicHistory()
    else:
        history = read_history(kafka, topic)
    report = status_report(history)
    if args.json:
        print(orjson.dumps(report).decode())
        return 0
    print(text_report(topic, report))
    return 0


def text_report(topic: str, report: dict[str, Any]) -> str:
    """The status as text."""
    lines = [f"watchlist topic {topic}: {report['versions']} version(s)"]
    current = report["current"]
    if current is None:
        lines.append("current version: none (workers following this topic wait and consume nothing)")
    else:
        lines.append(
            f"current version: {current['version']}, published {current['published_at']} "
            f"by {current['publisher']}"
        )
        for info in current["lists"]:
            lines.append(
                f"  {info['list_id']}: {info['entities']:,} entities, {info['names']:,} names; source "
                f"{info['source']} (dated {info['source_date'] or 'unknown'}), sha256 {info['sha256']}, "
                f"content {info['content_hash']}"
            )
    if report["previous"] is not None:
        diff = Changes(**{k: tuple(v) for k, v in report["changes"].items()})
        lines.append(f"changes from {report['previous']['version']} ({report['previous']['published_at']}):")
        lines.append(f"  {diff.summary()}")
    elif current is not None:
        lines.append("changes: none to show (no earlier version)")
    if report["skipped"]:
        lines.append("skipped versions (workers keep the last good one):")
        lines.extend(
            f"  {s['version'] or s['key']} (offset {s['offset']}): {s['reason']}" for s in report["skipped"]
        )
    return "\n".join(lines)
