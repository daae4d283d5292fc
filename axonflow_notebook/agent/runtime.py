"""Where a user's local agent is found: a runtime file per data directory, and its lock.

The runtime directory is ``$AXONFLOW_RUNTIME_DIR`` or ``<user data dir>/runtime``
(``~/.local/share/axonflow-notebook/runtime`` on Linux), the same choice Jupyter makes for
its server files (``jupyter_runtime_dir()`` is ``<jupyter data dir>/runtime``:
https://github.com/jupyter/jupyter_core/blob/main/jupyter_core/paths.py). The XDG runtime
directory would be cleaner, but it is unset under ``su``, cron, many containers and some
JupyterHub spawners, so two processes of one user could look in two places; the data
directory depends on the home directory alone. It is kept 0700 and must be the user's own.

The file (0600) is named after a hash of the data directory, so every data directory (a
test's temporary one too) has an agent of its own. A lock file beside it serialises
starting, replacing and idle-exiting that agent.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from typing import Optional

from .private_files import make_owned_private_dir, open_private, write_private_atomically

RUNTIME_DIR_ENV = "AXONFLOW_RUNTIME_DIR"


def runtime_dir() -> str:
    """The user's runtime directory, created 0700 (refused if another user owns it)."""
    path = os.environ.get(RUNTIME_DIR_ENV)
    if not path:
        import platformdirs

        path = os.path.join(platformdirs.user_data_dir("axonflow-notebook"), "runtime")
    return make_owned_private_dir(os.path.expanduser(path))


def normalise_data_dir(data_dir) -> str:
    return os.path.realpath(os.path.expanduser(os.fspath(data_dir)))


def _key(data_dir: str) -> str:
    return hashlib.sha256(normalise_data_dir(data_dir).encode("utf-8")).hexdigest()[:16]


def runtime_file(data_dir) -> str:
    return os.path.join(runtime_dir(), f"agent-{_key(data_dir)}.json")


def lock_file(data_dir) -> str:
    return os.path.join(runtime_dir(), f"agent-{_key(data_dir)}.lock")


@dataclass(frozen=True)
class RuntimeRecord:
    """What the runtime file holds: everything a kernel of the same user needs to connect."""

    url: str
    pid: int
    secret: str
    data_dir: str
    db_path: str
    policies: Optional[str]
    policies_sha256: Optional[str]
    version: str
    started_at: str

    def __repr__(self) -> str:
        return f"RuntimeRecord(url={self.url!r}, pid={self.pid}, data_dir={self.data_dir!r}, secret=***)"


def read_record(path: str) -> Optional[RuntimeRecord]:
    """The record in ``path``; None when missing, unreadable or not a record."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return RuntimeRecord(**{name: data[name] for name in RuntimeRecord.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_record(path: str, record: RuntimeRecord) -> None:
    write_private_atomically(path, json.dumps(asdict(record), indent=1).encode("utf-8"))


def remove_record_if_owned(path: str, pid: int) -> None:
    """Remove the runtime file if it still names process ``pid`` (never a successor's)."""
    record = read_record(path)
    if record is not None and record.pid == pid:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


class LockTimeout(TimeoutError):
    """Another process held the agent's start lock for too long."""


class RuntimeLock:
    """An exclusive lock on the agent's lock file, held across start / replace / idle exit.

    ``fcntl.flock`` on POSIX (released by the kernel if the holder dies), ``msvcrt.locking``
    on Windows. Polls until ``timeout`` seconds have passed.
    """

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._fd: Optional[int] = None

    def acquire(self) -> "RuntimeLock":
        fd = open_private(self.path, os.O_RDWR | os.O_CREAT)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                _lock(fd)
                self._fd = fd
                return self
            except OSError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockTimeout(
                        f"another process held {self.path} for over {self.timeout:g}s "
                        "(an agent still starting?)"
                    ) from None
                time.sleep(0.02)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                _unlock(fd)
            finally:
                os.close(fd)

    def __enter__(self) -> "RuntimeLock":
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()


try:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
