"""Who may call the review service: the users file, its token hashes, and the ``/users`` router.

The users file (``--users FILE``) is YAML::

    users:
      - name: alice
        roles: [analyst]
        token_id: 3f9a1c0e
        token_hash: scrypt:16384:8:1:<salt, base64>:<hash, base64>

A token is ``<token_id>.<secret>``; the file keeps only the scrypt hash of the whole token, with a
per-user salt, compared with :func:`hmac.compare_digest`. ``txscreen users add`` prints a new token
once. Roles: ``viewer`` reads; ``analyst`` also proposes; ``approver`` also approves, rejects and
revokes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import yaml

from schemas.errors import ConfigError

#: scrypt cost: n=2**14, r=8, p=1 (about 16 MiB and a few tens of ms per check; checks are cached).
SCRYPT_N: Final = 2**14
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1


class Role(StrEnum):
    """What a user may do."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    APPROVER = "approver"


#: Roles that may propose a decision or an allowlist entry.
PROPOSERS: Final = frozenset({Role.ANALYST, Role.APPROVER})


@dataclass(frozen=True, slots=True)
class User:
    """One user of the service (the token hash is never shown)."""

    name: str
    roles: frozenset[Role]
    token_id: str
    token_hash: str

    def __repr__(self) -> str:
        return f"User({self.name!r}, roles={sorted(self.roles)})"

    def has(self, role: Role) -> bool:
        """Whether the user holds ``role``."""
        return role in self.roles

    @property
    def role_names(self) -> list[str]:
        """The roles, sorted, as the decision records write them."""
        return sorted(r.value for r in self.roles)


def hash_token(token: str, salt: bytes | None = None) -> str:
    """``scrypt:N:r:p:salt:hash`` of a token (a new random salt unless given)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(token.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}:{b64(salt).decode()}:{b64(digest).decode()}"


def token_matches(token: str, stored: str) -> bool:
    """Whether ``token`` hashes to ``stored`` (a constant-time comparison)."""
    try:
        kind, n, r, p, salt, digest = stored.split(":")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            token.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def new_token() -> tuple[str, str]:
    """A new token id and the whole token (``<token_id>.<secret>``)."""
    token_id = secrets.token_hex(4)
    return token_id, f"{token_id}.{secrets.token_urlsafe(32)}"


class Users:
    """The users of a users file, by name and by token id."""

    def __init__(self, users: Iterable[User]) -> None:
        self.by_name = {u.name: u for u in users}
        self.by_token_id = {u.token_id: u for u in self.by_name.values()}
        self._verified: dict[bytes, str] = {}  # sha256 of a verified token -> user name

    def authenticate(self, token: str) -> User | None:
        """The user the token belongs to, or None."""
        token_id, dot, _secret = token.partition(".")
        user = self.by_token_id.get(token_id) if dot else None
        if user is None:
            return None
        fingerprint = hashlib.sha256(token.encode()).digest()
        if self._verified.get(fingerprint) == user.name:
            return user
        if not token_matches(token, user.token_hash):
            return None
        if len(self._verified) > 10_000:
            self._verified.clear()
        self._verified[fingerprint] = user.name
        return user


def _user(raw: Any, where: str) -> User:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping with name, roles, token_id and token_hash.")
    unknown = set(raw) - {"name", "roles", "token_id", "token_hash"}
    if unknown:
        raise ConfigError(f"{where} has unknown keys: {', '.join(sorted(map(str, unknown)))}.")
    name, roles, token_id, token_hash = (raw.get(k) for k in ("name", "roles", "token_id", "token_hash"))
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where} needs a name.")
    if not isinstance(roles, list) or not roles:
        raise ConfigError(f"{where} ({name}) needs a list of roles.")
    parsed: set[Role] = set()
    for role in roles:
        try:
            parsed.add(Role(role))
        except ValueError:
            choices = ", ".join(r.value for r in Role)
            raise ConfigError(
                f"{where} ({name}) names the unknown role {role!r}; roles are {choices}."
            ) from None
    if (
        not isinstance(token_id, str)
        or not isinstance(token_hash, str)
        or not token_hash.startswith("scrypt:")
    ):
        raise ConfigError(f"{where} ({name}) needs a token_id and a scrypt token_hash (txscreen users add).")
    return User(name, frozenset(parsed), token_id, token_hash)


def read_users(path: Path, *, missing_ok: bool = False) -> list[User]:
    """The users of ``path``; ConfigError with one sentence when it cannot be read, parsed or checked."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing_ok:
            return []
        raise ConfigError(
            f"the users file {path} does not exist (create it with txscreen users add)."
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the users file {path}: {exc.strerror or exc}.") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"the users file {path} is not valid YAML{line}.") from exc
    if data is None:
        data = {"users": []}
    if not isinstance(data, Mapping) or not isinstance(data.get("users"), list):
        raise ConfigError(f"the users file {path} must hold a 'users' list.")
    users = [_user(raw, f"{path}: user {i + 1}") for i, raw in enumerate(data["users"])]
    names = [u.name for u in users]
    if len(set(names)) != len(names):
        raise ConfigError(f"the users file {path} names a user twice.")
    if len({u.token_id for u in users}) != len(users):
        raise ConfigError(f"the users file {path} has two users with the same token_id.")
    return users


def load_users(path: Path) -> Users:
    """The users of ``path``, for the service (a file with no user is refused)."""
    users = read_users(path)
    if not users:
        raise ConfigError(f"the users file {path} has no user (add one with txscreen users add).")
    return Users(users)


def write_users(path: Path, users: Iterable[User]) -> None:
    """Write the users file atomically, readable by its owner only."""
    data = {
        "users": [
            {"name": u.name, "roles": u.role_names, "token_id": u.token_id, "token_hash": u.token_hash}
            for u in users
        ]
    }
    text = yaml.safe_dump(data, sort_keys=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_user(path: Path, name: str, roles: Iterable[str]) -> str:
    """Add (or replace the token and roles of) user ``name``; returns the new token, shown only once."""
    if not name.strip() or any(c.isspace() for c in name):
        raise ConfigError(f"a user name must be one word, not {name!r}.")
    parsed = set()
    for role in roles:
        try:
            parsed.add(Role(role))
        except ValueError:
            choices = ", ".join(r.value for r in Role)
            raise ConfigError(f"unknown role {role!r}; roles are {choices}.") from None
    if not parsed:
        raise ConfigError("give at least one --role.")
    users = [u for u in read_users(path, missing_ok=True) if u.name != name]
    token_id, token = new_token()
    users.append(User(name, frozenset(parsed), token_id, hash_token(token)))
    write_users(path, users)
    return token


def remove_user(path: Path, name: str) -> None:
    """Remove user ``name``; ConfigError when there is no such user."""
    users = read_users(path)
    kept = [u for u in users if u.name != name]
    if len(kept) == len(users):
        raise ConfigError(f"the users file {path} has no user {name!r}.")
    write_users(path, kept)
