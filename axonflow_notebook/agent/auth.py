"""Who is calling: local development mode, or the clients of an ``--auth`` file.

Without an auth file the agent is in local development mode: any Basic credentials are
accepted (it then refuses non-loopback addresses, see ``server``). With one, every request
needs a known client id and its secret. Secrets are kept only as salted SHA-256 digests
and compared in constant time; they are never logged or echoed.
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


class DevAuth:
    """Local development: any credentials; the Basic username names the client."""

    enforced = False

    def identify(self, header: str) -> Identity:
        creds = _basic_credentials(header)
        user = creds[0] if creds else ""
        if not user or user == "community":
            return Identity(None, True, False)
        return Identity(user, True, False)


class FileAuth:
    """The clients of an auth file; every request must present one of them."""

    enforced = True

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

    def identify(self, header: str) -> Identity:
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


def load_auth(path: Optional[str]):
    """Return DevAuth for no file, else a FileAuth; AuthFileError says what is wrong."""
    if path is None:
        return DevAuth()
    import yaml

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
