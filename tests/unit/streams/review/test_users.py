"""The users file: tokens shown once and stored only as scrypt hashes; bad files refused with a sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.errors import ConfigError
from streams.review.users import Role, add_user, load_users, remove_user
from tests.cli_runner import run_txscreen


def test_a_token_authenticates_its_user_and_is_not_stored(tmp_path: Path) -> None:
    """The file holds a salted scrypt hash, never the token; a wrong token authenticates nobody."""
    path = tmp_path / "users.yaml"
    alice = add_user(path, "alice", ["analyst"])
    bob = add_user(path, "bob", ["approver", "analyst"])
    text = path.read_text()
    assert alice not in text
    assert bob not in text
    assert "scrypt:" in text
    users = load_users(path)
    assert users.authenticate(alice).name == "alice"  # type: ignore[union-attr]
    assert users.authenticate(bob).roles == {Role.APPROVER, Role.ANALYST}  # type: ignore[union-attr]
    assert users.authenticate(alice[:-1] + ("A" if alice[-1] != "A" else "B")) is None
    assert users.authenticate("no-dot") is None
    assert path.stat().st_mode & 0o077 == 0


def test_two_users_get_different_salts(tmp_path: Path) -> None:
    """Each user's hash has its own salt."""
    path = tmp_path / "users.yaml"
    add_user(path, "a", ["viewer"])
    add_user(path, "b", ["viewer"])
    salts = {u.token_hash.split(":")[4] for u in load_users(path).by_name.values()}
    assert len(salts) == 2


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("users: [name: x\n", "not valid YAML"),
        ("users:\n- {name: x, roles: [root], token_id: a, token_hash: 'scrypt:1'}\n", "unknown role 'root'"),
        ("people: []\n", "must hold a 'users' list"),
        ("users: []\n", "has no user"),
    ],
)
def test_a_bad_users_file_is_refused_with_one_sentence(tmp_path: Path, content: str, expected: str) -> None:
    """Unparseable YAML, an unknown role, a wrong shape or no user: a ConfigError naming the problem."""
    path = tmp_path / "users.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=expected):
        load_users(path)


def test_the_cli_prints_the_token_last_and_removes_users(tmp_path: Path) -> None:
    """users add prints the token as the last stdout line; users remove drops the user."""
    path = tmp_path / "users.yaml"
    added = run_txscreen("users", "add", "carol", "--role", "approver", "--users", str(path))
    assert added.returncode == 0, added.stderr
    token = added.stdout.splitlines()[-1]
    assert load_users(path).authenticate(token).name == "carol"  # type: ignore[union-attr]
    assert run_txscreen("users", "remove", "carol", "--users", str(path)).returncode == 0
    missing = run_txscreen("users", "remove", "carol", "--users", str(path))
    assert missing.returncode == 2
    assert "no user 'carol'" in missing.stderr
    with pytest.raises(ConfigError):
        remove_user(path, "carol")
