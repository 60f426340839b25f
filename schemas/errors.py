"""The error tree of txscreen.

::

    TxscreenError                 root: everything txscreen raises on purpose
    ├── SchemaError               a record does not match its contract
    ├── WatchlistError            a watchlist source cannot be loaded (file, line)
    ├── BrokerError               Kafka or the local broker cannot do what was asked
    │   └── ClientStuckError      a librdkafka call hangs: the process must leave at once
    ├── ConfigError               a setting or command-line value is wrong
    └── ReviewError               the review service refused a call, or cannot be reached

Per-message problems are *not* exceptions: a malformed payment event becomes a dead
letter value and the loop goes on. These errors are for the operational failures that
must stop a screener before it consumes anything (fail closed).
"""

from __future__ import annotations


class TxscreenError(Exception):
    """Root of every error txscreen raises on purpose; its message is one clear sentence."""


class SchemaError(TxscreenError):
    """A record does not match its schema."""


class WatchlistError(TxscreenError):
    """A watchlist source is missing, truncated, malformed or empty.

    ``source`` names the file or folder, ``line`` the 1-based line where known.
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None) -> None:
        where = source or ""
        if source and line is not None:
            where = f"{source}:{line}"
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.line = line
        self.reason = message


class BrokerError(TxscreenError):
    """The Kafka cluster or the local broker failed; ``topic``/``partition``/``offset`` when known."""

    def __init__(
        self,
        message: str,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.topic = topic
        self.partition = partition
        self.offset = offset


class ClientStuckError(BrokerError):
    """The Kafka client hangs in a call past its timeout; a normal exit would wait on it forever."""


class ConfigError(TxscreenError):
    """A setting, flag or environment variable has a value txscreen cannot use."""


class ReviewError(TxscreenError):
    """The review service refused a call (``status`` is the HTTP status; 0 when it could not be reached)."""

    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.status = status
