"""Files only their owner can read: 0600 files in 0700 directories, whatever the umask.

The agent's store holds prompts, answers and reviewer comments, and its runtime file holds
the secret that lets a caller approve requests; on a shared machine loopback is no boundary
between people. Modes are set explicitly (``fchmod``/``chmod``) because ``os.open``'s mode
is filtered through the umask, and an umask of 000 would otherwise make them world-readable.
"""

from __future__ import annotations

import os
import stat
import tempfile

FILE_MODE = 0o600
DIR_MODE = 0o700


class UnsafeDirectoryError(OSError):
    """A directory meant to hold secrets belongs to someone else; the message says which."""


def make_private_dir(path: str) -> str:
    """Create ``path`` (and missing parents) as 0700 directories; return it.

    Directories that already exist keep their mode: a user's own project directory is
    theirs to set, and every file the agent writes in it is 0600 anyway.
    """
    path = os.path.abspath(os.fspath(path))
    missing = []
    head = path
    while head and not os.path.isdir(head):
        missing.append(head)
        parent = os.path.dirname(head)
        if parent == head:
            break
        head = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(directory, DIR_MODE)
    return path


def make_owned_private_dir(path: str) -> str:
    """A 0700 directory owned by this user, for secrets; refuse one owned by another user.

    An existing directory of ours with a wider mode is narrowed to 0700 (it holds nothing
    but our own runtime files).
    """
    path = make_private_dir(path)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeDirectoryError(f"{path} is not a directory; refusing to keep the agent's secret there")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise UnsafeDirectoryError(
            f"{path} belongs to user id {info.st_uid}, not to you; refusing to keep the agent's "
            "secret there (set AXONFLOW_RUNTIME_DIR to a directory of your own)"
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, DIR_MODE)
    return path


def open_private(path: str, flags: int = os.O_WRONLY | os.O_CREAT | os.O_APPEND) -> int:
    """``os.open`` that leaves the file at mode 0600 whatever the umask; returns the fd."""
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, FILE_MODE)
        else:  # pragma: no cover - Windows has no fchmod; modes there are advisory anyway
            os.chmod(path, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def touch_private(path: str) -> None:
    """Create ``path`` empty at 0600 if missing; narrow an existing file of ours to 0600."""
    os.close(open_private(path, os.O_RDWR | os.O_CREAT))


def write_private_atomically(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step (a reader sees the old or the new file, never
    half of one), as a 0600 file."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), FILE_MODE)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def secure_sqlite_files(db_path: str) -> None:
    """Make the database file exist at 0600 before SQLite opens it, and narrow any journal.

    SQLite creates its ``-wal`` and ``-shm`` files later with the database file's own mode
    (``robust_open`` in sqlite3.c's unix VFS), so a 0600 database keeps them 0600 too.
    """
    make_private_dir(os.path.dirname(os.path.abspath(db_path)))
    touch_private(db_path)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = db_path + suffix
        if os.path.exists(companion):
            os.chmod(companion, FILE_MODE)
