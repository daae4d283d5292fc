"""Who is calling: the local agent's secret, the clients of an ``--auth`` file, or nobody checked.

- ``SecretAuth`` (the default without an auth file): one user's agent. The Basic password
  must be the agent's secret; the Basic username names the client. The secret holder is
  that one user, so self-approval stays allowed ("self-approved, development mode").
- ``FileAuth``: every request must present a known client id and its secret; reviewers
  decide, and never their own requests.
- ``DevAuth``: any credentials (``--insecure-no-secret``, for a throwaway sandbox only).

Secrets are compared in constant time and never logged or echoed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from typing import Optional

from .errors import MIDDLEWARE, ApiError

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.@:\-]{1,128}$")


class AuthFileError(ValueError):
    """An auth file that cannot be used; the message names the file, entry and field."""


@dataclass(frozen=True)
class Identity:
    """The caller as the agent sees it. ``client_id`` is None for an anonymous dev caller."""

    client_id: Optional[str]
    reviewer: bool
    authenticated: bool


@dataclass(frozen=True)
class _Client:
    id: str
    digest: bytes
    reviewer: bool


def _basic_credentials(header: str) -> Optional[tuple[str, str]]:
    if not header or not header[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return user, secret


def _local_identity(user: str) -> Identity:
    # One user's agent: the username only names the client; everyone may decide.
    if not user or user == "community":
        return Identity(None, True, False)
    return Identity(user, True, False)


class DevAuth:
    """No check at all: any credentials; the Basic username names the client."""

    enforced = False
    requires_secret = False

    def identify(self, header) -> Identity:
        if isinstance(header, bytes):
            header = header.decode("latin-1")
        creds = _basic_credentials(header)
        return _local_identity(creds[0] if creds else "")


_MISSING_SECRET = (
    "Authentication required: this local AxonFlow agent needs its secret as the Basic "
    "password (clientId:secret). Kernels of the same user find it in the agent's runtime "
    "file; `axonflow-notebook agent` prints it at start (AXONFLOW_CLIENT_SECRET)."
)
_WRONG_SECRET = (
    "Authentication failed: the password is not this local AxonFlow agent's secret "
    "(it changes every time the agent starts; use the current one)."
)


class SecretAuth:
    """One user's agent: the Basic password must be the agent's secret.

    Pre-check is on every governed call's critical path, so a header that was verified
    before is recognised by one constant-time comparison against its precomputed value;
    only a new header is decoded and its password compared (again in constant time).
    """

    enforced = False
    requires_secret = True
    _REMEMBERED = 16

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the agent's secret must be a non-empty string")
        self._secret = secret.encode("utf-8")
        self._verified: tuple[tuple[bytes, Identity], ...] = ()

    def identify(self, header) -> Identity:
        raw = header if isinstance(header, bytes) else header.encode("latin-1", "replace")
        for expected, identity in self._verified:
            if hmac.compare_digest(raw, expected):
                return identity
        creds = _basic_credentials(raw.decode("latin-1"))
        if creds is None or not creds[1]:
            raise ApiError(401, _MISSING_SECRET, MIDDLEWARE)
        if not hmac.compare_digest(creds[1].encode("utf-8"), self._secret):
            raise ApiError(401, _WRONG_SECRET, MIDDLEWARE)
        identity = _local_identity(creds[0])
        self._verified = ((raw, identity),) + self._verified[: self._REMEMBERED - 1]
        return identity

    def __repr__(self) -> str:
        return "SecretAuth(secret=***)"


class FileAuth:
    """The clients of an auth file; every request must present one of them."""

    enforced = True
    requires_secret = False

    def __init__(self, clients: list[_Client]) -> None:
        self._salt = os.urandom(16)
        self._clients = {
            c.id: _Client(c.id, self._digest(c.digest.decode("utf-8")), c.reviewer) for c in clients
        }
        # A fixed digest to compare against for unknown ids, so an unknown id costs the
        # same time as a wrong secret.
        self._decoy = self._digest(os.urandom(16).hex())

    def _digest(self, secret: str) -> bytes:
        return hashlib.sha256(self._salt + secret.encode("utf-8")).digest()

    def identify(self, header) -> Identity:
        if isinstance(header, bytes):
            header = header.decode("latin-1")
        creds = _basic_credentials(header)
        if creds is None or not creds[0] or not creds[1]:
            raise ApiError(
                401,
                "Authentication required: provide Authorization header with Basic auth "
                "(clientId:clientSecret)",
                MIDDLEWARE,
            )
        client_id, secret = creds
        client = self._clients.get(client_id)
        expected = client.digest if client else self._decoy
        if not hmac.compare_digest(expected, self._digest(secret)) or client is None:
            raise ApiError(401, "Authentication failed: invalid client credentials", MIDDLEWARE)
        return Identity(client.id, client.reviewer, True)

    @property
    def client_ids(self) -> list[str]:
        return sorted(self._clients)


def load_auth(path: Optional[str], secret: Optional[str] = None):
    """FileAuth for an auth file, else SecretAuth for a secret, else DevAuth (nothing checked).

    AuthFileError says what is wrong with a file.
    """
    if path is None:
        return SecretAuth(secret) if secret is not None else DevAuth()
    from .. import fast_yaml as yaml  # libyaml when built with it

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise AuthFileError(f"auth file {path}: cannot read it ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise AuthFileError(f"auth file {path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("clients"), list):
        raise AuthFileError(f"auth file {path}: expected a top-level 'clients:' list")
    if not data["clients"]:
        raise AuthFileError(f"auth file {path}: 'clients' is empty; list at least one client")
    unknown_top = set(data) - {"clients"}
    if unknown_top:
        raise AuthFileError(f"auth file {path}: unknown top-level key(s) {sorted(unknown_top)}")
    clients: list[_Client] = []
    seen: set[str] = set()
    for index, entry in enumerate(data["clients"]):
        where = f"auth file {path}: clients[{index}]"
        if not isinstance(entry, dict):
            raise AuthFileError(f"{where}: expected a mapping with 'id' and 'secret'")
        name = entry.get("id")
        if isinstance(name, str):
            where = f"{where} (id {name!r})"
        unknown = set(entry) - {"id", "secret", "reviewer"}
        if unknown:
            raise AuthFileError(f"{where}: unknown field(s) {sorted(unknown)}")
        if not isinstance(name, str) or not _CLIENT_ID.match(name):
            raise AuthFileError(
                f"{where}: field 'id' must be 1-128 characters of letters, digits, _ . @ : -"
            )
        if name in seen:
            raise AuthFileError(f"{where}: field 'id' repeats an earlier client")
        if name == "community":
            raise AuthFileError(f"{where}: field 'id' may not be 'community' (reserved)")
        secret = entry.get("secret")
        if not isinstance(secret, str) or not secret:
            raise AuthFileError(f"{where}: field 'secret' must be a non-empty string")
        reviewer = entry.get("reviewer", False)
        if not isinstance(reviewer, bool):
            raise AuthFileError(f"{where}: field 'reviewer' must be true or false")
        seen.add(name)
        clients.append(_Client(name, secret.encode("utf-8"), reviewer))
    return FileAuth(clients)
