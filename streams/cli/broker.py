"""``txscreen kafka up | down | status``: the project's own single-node Kafka broker, no Docker.

Every flag falls back to an environment variable, read here and nowhere else:

=====================  ===========================  =========================================
flag                   environment variable         default
=====================  ===========================  =========================================
``--port``             ``TXSCREEN_KAFKA_PORT``      9092
``--controller-port``  -                            port + 1
``--state-dir``        ``TXSCREEN_KAFKA_STATE``     ``~/.local/state/txscreen/kafka-<port>``
``--cache-dir``        ``TXSCREEN_KAFKA_CACHE``     ``~/.cache/txscreen/kafka-<version>``
``--heap`` (up)        -                            1g
=====================  ===========================  =========================================

``up`` prints its progress on stderr and only the bootstrap address on stdout, so
``export KAFKA_BOOTSTRAP_SERVERS=$(txscreen kafka up)`` works.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from schemas.errors import ConfigError
from streams.localbroker.broker import BrokerConfig, LocalBroker


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``kafka up | down | status`` to the ``txscreen`` parser."""
    kafka = subparsers.add_parser(
        "kafka",
        help="run the project's own single-node Kafka broker (KRaft, jars from Maven Central, no Docker)",
        description="Run a local single-node Kafka broker for development and tests.",
    )
    verbs = kafka.add_subparsers(dest="kafka_command", metavar="VERB", required=True)

    up = verbs.add_parser("up", help="start the broker (fetching jars and formatting storage the first time)")
    _add_location_flags(up)
    up.add_argument("--heap", default="1g", help="maximum JVM heap, as in -Xmx (default: %(default)s)")
    up.add_argument(
        "--timeout", type=float, default=180.0, help="seconds to wait until it answers (default: %(default)s)"
    )
    up.set_defaults(handler=_up)

    down = verbs.add_parser("down", help="stop the broker (SIGTERM, then SIGKILL)")
    _add_location_flags(down)
    down.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait before SIGKILL (default: %(default)s)"
    )
    down.set_defaults(handler=_down)

    status = verbs.add_parser("status", help="say whether the broker runs; exit 0 if it does, else 1")
    _add_location_flags(status)
    status.set_defaults(handler=_status)


def _add_location_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, help="client port (env TXSCREEN_KAFKA_PORT; default 9092)")
    parser.add_argument("--controller-port", type=int, help="KRaft controller port (default: port + 1)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="broker data, logs and pid "
        "(env TXSCREEN_KAFKA_STATE; default ~/.local/state/txscreen/kafka-PORT)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="where the Kafka jars are fetched once "
        "(env TXSCREEN_KAFKA_CACHE; default ~/.cache/txscreen/kafka-VERSION)",
    )


def config_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> BrokerConfig:
    """The broker settings from the flags, falling back to ``TXSCREEN_KAFKA_*`` variables in ``environ``."""
    port = args.port if args.port is not None else _port_from_env(environ)
    state = args.state_dir or _path_from_env(environ, "TXSCREEN_KAFKA_STATE")
    cache = args.cache_dir or _path_from_env(environ, "TXSCREEN_KAFKA_CACHE")
    for name, value in (("--port", port), ("--controller-port", args.controller_port)):
        if value is not None and not 0 < value < 65536:
            raise ConfigError(f"{name} must be a TCP port between 1 and 65535, not {value}.")
    return BrokerConfig(
        host=args.host,
        port=port,
        controller_port=args.controller_port,
        state_dir=state,
        cache_dir=cache,
        heap=getattr(args, "heap", "1g"),
    )


def _port_from_env(environ: Mapping[str, str]) -> int:
    raw = environ.get("TXSCREEN_KAFKA_PORT", "").strip()
    if not raw:
        return BrokerConfig.port
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"TXSCREEN_KAFKA_PORT must be a port number, not {raw!r}.") from None


def _path_from_env(environ: Mapping[str, str], name: str) -> Path | None:
    raw = environ.get(name, "").strip()
    return Path(raw).expanduser() if raw else None


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _up(args: argparse.Namespace) -> int:
    broker = LocalBroker(config_from_args(args, os.environ), progress=_progress)
    address = broker.start(timeout=args.timeout)
    _progress(f"broker ready (pid {broker.pid()}); logs in {broker.config.state_path}")
    print(address, flush=True)
    return 0


def _down(args: argparse.Namespace) -> int:
    broker = LocalBroker(config_from_args(args, os.environ), progress=_progress)
    pid = broker.pid()
    if broker.stop(timeout=args.timeout):
        print(f"stopped broker (pid {pid}) at {broker.bootstrap_servers}")
    else:
        print(f"no broker running for {broker.config.state_path}")
    return 0


def _status(args: argparse.Namespace) -> int:
    status = LocalBroker(config_from_args(args, os.environ)).status()
    if status.running:
        print(f"running (pid {status.pid}) at {status.bootstrap_servers}")
    else:
        print(f"stopped ({status.bootstrap_servers})")
    print(f"state dir: {status.state_dir}")
    print(f"log file: {status.log_file}")
    return 0 if status.running else 1
