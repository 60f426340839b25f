"""The review and allow CLI clients against ``txscreen review serve``: the README's workflow."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from tests.cli_runner import REPO
from tests.kafka.review_support import ReviewEnv, Server, block, make_review_env, payment
from tests.kafka.test_kafka_worker import read_all

pytestmark = pytest.mark.kafka


@pytest.fixture
def env(
    kafka_bootstrap: str,
    make_topics: Callable[..., list[str]],
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> ReviewEnv:
    """Fresh review topics and a users file."""
    return make_review_env(kafka_bootstrap, make_topics, unique_name, tmp_path)


def cli(server: Server, user: str, *args: str) -> tuple[int, str, str]:
    """``txscreen ARGS`` as ``user`` (token from TXSCREEN_TOKEN), against the server."""
    import subprocess
    import sys

    environ = {**os.environ, "TXSCREEN_TOKEN": server.env.tokens[user], "TXSCREEN_SERVER": server.url}
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True, cwd=REPO, env=environ,
        timeout=120, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def test_the_review_and_allow_commands_work_end_to_end(env: ReviewEnv, tmp_path: Path) -> None:
    """list, show, release by two users, refusals (exit 2 with the reason), allow add/approve/list/export."""
    block(env, [payment("ev-cli", "Globex Corporation")])
    server = Server(env, tmp_path / "serve.log")
    server.start()
    try:
        code, out, _ = cli(server, "vic", "review", "list", "--status", "open", "--json")
        assert code == 0
        (case,) = orjson.loads(out)
        assert {"case_id", "event_id", "status", "hits", "age", "age_seconds"} <= set(case)
        case_id = case["case_id"]
        code, out, _ = cli(server, "alice", "review", "release", case_id, "--reason", "customer verified")
        assert code == 0
        assert "proposed" in out
        code, _, err = cli(server, "alice", "review", "release", case_id, "--reason", "again")
        assert code == 0  # a repeated proposal is the same outcome
        code, _, err = cli(server, "vic", "review", "release", case_id)
        assert code == 2
        assert "viewer" in err
        code, out, _ = cli(server, "bob", "review", "release", case_id, "--reason", "checked")
        assert code == 0
        assert "released" in out
        code, out, _ = cli(server, "vic", "review", "show", case_id)
        assert code == 0
        assert "release by bob" in out
        code, _, err = cli(server, "vic", "review", "show", "9-9")
        assert code == 2
        assert "there is no case 9-9" in err
        until = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
        code, out, err = cli(
            server, "alice", "allow", "add", "--entity", "acme-internal:globex",
            "--name", "Globex Corporation",
            "--scope", "creditor", "--until", until, "--reason", "long-standing customer",
        )  # fmt: skip
        assert code == 0, err
        entry_id = out.split()[1].rstrip(":")
        code, _, err = cli(server, "alice", "allow", "approve", entry_id)
        assert code == 2
        assert "approver role" in err
        code, out, _ = cli(server, "bob", "allow", "approve", entry_id)
        assert code == 0
        assert "status active" in out
        code, out, _ = cli(server, "vic", "allow", "list", "--json")
        assert [e["entry_id"] for e in orjson.loads(out)] == [entry_id]
        export = tmp_path / "allow.jsonl"
        code, _, _ = cli(server, "vic", "allow", "export", str(export))
        assert code == 0
        assert orjson.loads(export.read_bytes())["entry_id"] == entry_id
        code, _, err = cli(server, "vic", "review", "list", "--token", "bad.token")
        assert code == 2
        assert "401" in err
    finally:
        server.stop()
    assert len(read_all(env.bootstrap, env.topics.cleared)) == 1
