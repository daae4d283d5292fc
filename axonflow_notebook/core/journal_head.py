"""The journal's recorded head, kept in a file of its own beside the journal: `<journal>.head`.

A hash chain alone cannot show that its last records were cut off, nor that it was recomputed
from an edited record onwards: the shorter or rewritten chain is intact in itself. So every append
also records the chain's head hash and the number of records ever appended (`next_seq`) in this
file, and `verify` checks the journal against it. Someone who edits the journal file alone is
caught; someone who can also rewrite this file is caught only when the chain is keyed, because
the head is then MACed with the chain key (HMAC-SHA256), which they do not have.

One fixed-size slot written in place (`os.pwrite`), always while the writer holds SQLite's write
lock on the journal, so writers in several kernels never interleave and a reader holding the same
lock reads a whole slot. 0600, like the journal (private_files.py).
"""

from __future__ import annotations

import hmac
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .private_files import FILE_MODE

SLOT = 512  # bytes: the JSON below, padded with spaces, one newline
SUFFIX = ".head"


@dataclass(frozen=True)
class HeadState:
    chain_id: str
    next_seq: int  # records ever appended to the chain (the next record's seq)
    head: str  # the hash of record next_seq - 1
    key_id: Optional[str] = None
    mac: Optional[str] = None

    def macced(self, key: Optional[bytes]) -> "HeadState":
        return HeadState(self.chain_id, self.next_seq, self.head, self.key_id, head_mac(key, self))

    def mac_ok(self, key: Optional[bytes]) -> bool:
        expected = head_mac(key, self)
        return expected is None or hmac.compare_digest(expected, self.mac or "")

    def to_json(self) -> dict:
        return {"chain_id": self.chain_id, "next_seq": self.next_seq, "head": self.head,
                "key_id": self.key_id, "mac": self.mac}


def head_mac(key: Optional[bytes], state: HeadState) -> Optional[str]:
    if key is None:
        return None
    text = f"journal head {state.chain_id} {state.next_seq} {state.head}".encode("ascii")
    return hmac.digest(key, text, "sha256").hex()


_HEAD_FIELD = re.compile(r"[A-Za-z0-9-]*\Z").match  # uuids and hex digests; nothing to escape in JSON


def _text(value: Optional[str]) -> str:
    return "null" if value is None else '"' + value + '"'  # ids and hex digests: nothing to escape


def encode(state: HeadState) -> bytes:
    """The slot: the state as JSON (written without json.dumps: this is on every append)."""
    for value in (state.chain_id, state.head, state.key_id or "", state.mac or ""):
        if not _HEAD_FIELD(value):
            raise ValueError("a head field holds a character a head never has")
    data = (f'{{"chain_id":{_text(state.chain_id)},"next_seq":{int(state.next_seq)},"head":{_text(state.head)},'
            f'"key_id":{_text(state.key_id)},"mac":{_text(state.mac)}}}').encode("ascii")
    return data.ljust(SLOT - 1) + b"\n"


def head_path(journal: Path) -> Path:
    return Path(str(journal) + SUFFIX)


class HeadFileError(ValueError):
    """The head file exists but cannot be read as one (edited, or not ours)."""


def parse(raw: bytes) -> Optional[HeadState]:
    text = raw.decode("utf-8", "replace").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
        return HeadState(str(data["chain_id"]), int(data["next_seq"]), str(data["head"]),
                         data.get("key_id"), data.get("mac"))
    except (ValueError, KeyError, TypeError):
        raise HeadFileError("it is not a journal head record") from None


def read_head(path: Path) -> Optional[HeadState]:
    """The recorded head, or None when there is no head file. `HeadFileError` if unreadable."""
    try:
        with open(path, "rb") as fh:
            return parse(fh.read(SLOT))
    except FileNotFoundError:
        return None


class HeadFile:
    """The writer's handle on the head file (kept open: one `pread`/`pwrite` per append)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        os.chmod(self.path, FILE_MODE)
        self._last: tuple = (None, None)

    def read(self) -> Optional[HeadState]:
        raw = os.pread(self._fd, SLOT, 0)
        if raw == self._last[0]:  # what this process wrote last: no other writer since
            return self._last[1]
        try:
            return parse(raw)
        except HeadFileError:
            return None

    def write(self, state: HeadState) -> None:
        slot = encode(state)
        os.pwrite(self._fd, slot, 0)
        self._last = (slot, state)

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


__all__ = ["HeadState", "HeadFile", "HeadFileError", "head_path", "read_head", "head_mac", "SUFFIX"]
