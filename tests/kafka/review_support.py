"""Shared by the review service's Kafka tests: topics, users, cases, readers, the server (not tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
from confluent_kafka import Producer

from streams.lists import load_automaton
from streams.localbroker.broker import free_ports
from streams.outputs import OutputRecord, output_records, screen_messages
from streams.review.config import ReviewSettings
from streams.review.users import add_user
from streams.settings import KafkaSettings, Topics

REPO = Path(__file__).resolve().parents[2]
#: A small invented list (tests/data/README.md): globex hits anywhere; SEA BREEZE only as a whole party name.
VALID_LIST = REPO / "tests" / "data" / "txscreen_list" / "valid.yaml"
USERS = {"alice": ["analyst"], "bob": ["approver"], "carol": ["approver"], "vic": ["viewer"]}


@dataclass
class ReviewEnv:
    """One test's topics, users file and tokens."""

    bootstrap: str
    topics: Topics
    users_file: Path
    tokens: dict[str, str]
    transactional_id: str
    watchlists: tuple[str, ...]

    def settings(self, **overrides: object) -> ReviewSettings:
        """The service settings of this test."""
        values: dict[str, object] = {
            "kafka": KafkaSettings(bootstrap_servers=self.bootstrap, topics=self.topics),
            "users_file": self.users_file,
            "transactional_id": self.transactional_id,
            "watchlists": self.watchlists,
            **overrides,
        }
        return ReviewSettings(**values)  # type: ignore[arg-type]

    def topic_flags(self) -> list[str]:
        """The Kafka flags of the CLI for these topics."""
        t = self.topics
        return [
            "--bootstrap-servers", self.bootstrap, "--input-topic", t.input, "--cleared-topic", t.cleared,
            "--blocked-topic", t.blocked, "--dlq-topic", t.dlq, "--decisions-topic", t.decisions,
            "--confirmed-topic", t.confirmed, "--allowlist-topic", t.allowlist,
        ]  # fmt: skip

    def header(self, user: str) -> dict[str, str]:
        """The Authorization header of ``user``."""
        return {"Authorization": f"Bearer {self.tokens[user]}"}


def make_review_env(
    bootstrap: str,
    make_topics: Callable[..., list[str]],
    unique_name: Callable[[str], str],
    tmp_path: Path,
    *,
    watchlists: Sequence[Path] = (VALID_LIST,),
) -> ReviewEnv:
    """Fresh topics (the allowlist one compacted), a users file with alice, bob, carol and vic."""
    names = make_topics("in", "cleared", "blocked", "dlq", "decisions", "confirmed")
    (allowlist,) = make_topics("allowlist", config={"cleanup.policy": "compact"})
    source, cleared, blocked, dlq, decisions, confirmed = names
    topics = Topics(source, cleared, blocked, dlq, "", decisions, confirmed, allowlist)
    users_file = tmp_path / "users.yaml"
    tokens = {name: add_user(users_file, name, roles) for name, roles in USERS.items()}
    return ReviewEnv(
        bootstrap, topics, users_file, tokens, unique_name("txn"), tuple(str(w) for w in watchlists)
    )


def payment(event_id: str, creditor: str, *, debtor: str = "Jane Doe", account: str | None = None) -> bytes:
    """A valid payment event."""
    party: dict[str, object] = {"name": creditor}
    if account is not None:
        party["account"] = account
    return orjson.dumps(
        {
            "id": event_id,
            "created_at": "2026-06-01T10:00:00Z",
            "amount": "10.00",
            "currency": "EUR",
            "debtor": {"name": debtor},
            "creditor": party,
            "remittance": "invoice 7",
        }
    )


class _Msg:
    """A stand-in for a consumed input message (what the output step reads)."""

    def __init__(self, value: bytes, key: bytes, offset: int) -> None:
        self._v, self._k, self._o = value, key, offset

    def value(self) -> bytes:
        return self._v

    def key(self) -> bytes:
        return self._k

    def headers(self) -> list[tuple[str, bytes]]:
        return [("trace-id", b"t-" + self._k), ("txscreen-verdict", b"forged")]

    def topic(self) -> str:
        return "payments"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._o


def block(env: ReviewEnv, events: Sequence[bytes]) -> list[OutputRecord]:
    """Screen ``events`` with the shared output step and write the blocked records to the blocked topic."""
    from streams.outputs import KAFKA_MESSAGE

    automaton = load_automaton(list(env.watchlists), report=None)
    messages = [_Msg(v, orjson.loads(v)["id"].encode(), i) for i, v in enumerate(events)]
    result = screen_messages(messages, KAFKA_MESSAGE, automaton, now=datetime.now(UTC))
    records = output_records(messages, KAFKA_MESSAGE, result, env.topics.by_verdict(), log_outcomes=False)
    blocked = [r for r in records if r.topic == env.topics.blocked]
    assert len(blocked) == len(events), "every test event must be blocked"
    producer = Producer({"bootstrap.servers": env.bootstrap, "enable.idempotence": True})
    for r in blocked:
        producer.produce(r.topic, r.value, r.key, headers=r.headers)
    assert producer.flush(30) == 0
    return blocked


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "a condition") -> None:
    """Poll ``predicate`` until it holds (AssertionError after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


class Server:
    """``txscreen review serve`` as a subprocess on a free port, killed and restarted at will."""

    def __init__(self, env: ReviewEnv, log: Path, list_flags: Sequence[str] | None = None) -> None:
        self.env = env
        (self.port,) = free_ports(1)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.list_flags = list(list_flags or ("--watchlist", env.watchlists[0]))

    def start(self) -> None:
        self.launch()
        self.wait_answers()

    def launch(self) -> None:
        """Start the process (without waiting for it to answer)."""
        args = [
            sys.executable, "-m", "streams.cli", "review", "serve", *self.env.topic_flags(),
            "--users", str(self.env.users_file), "--listen", f"127.0.0.1:{self.port}",
            "--transactional-id", self.env.transactional_id, *self.list_flags,
        ]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(args, cwd=REPO, stdout=out, stderr=out)

    def answering(self) -> bool:
        """Whether the service answers an authenticated call now."""
        try:
            return (
                httpx.get(f"{self.url}/users/me", headers=self.env.header("vic"), timeout=2).status_code
                == 200
            )
        except httpx.HTTPError:
            return False

    def wait_answers(self) -> None:
        """Wait until the service answers (fails if the process ends first)."""

        def answers() -> bool:
            assert self.process is not None
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            return self.answering()

        wait_for(answers, timeout=120, what="the review service to answer")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
