"""Files and directories only their owner can read, whatever the umask.

The journal holds prompts, answers and reviewers' comments. `os.mkdir` and `open`
apply the process umask to the mode they are given, which can only remove bits,
and `Path.mkdir(parents=True)` gives the parents it creates the default mode; so
every directory is created one level at a time and then `chmod`ed to exactly 0700,
and a file is created 0600 before SQLite opens it. SQLite creates its `-wal` and
`-shm` files with the database file's own permissions (`robust_open` in SQLite's
src/os_unix.c, https://sqlite.org/src/file/src/os_unix.c), so they follow.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterable

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def private_directory(path: Path, *, tighten: bool = False) -> Path:
    """Create `path` and any missing parents as 0700 directories.

    `tighten`: also make an existing `path` 0700 (only for a directory that is ours,
    e.g. the package's own data directory; never a user's directory).
    """
    path = Path(path)
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIRECTORY_MODE)
        except FileExistsError:  # made by another process meanwhile
            continue
        os.chmod(directory, DIRECTORY_MODE)
    if tighten and not missing and _owned(path):
        os.chmod(path, DIRECTORY_MODE)
    return path


def private_file(path: Path, *, companions: Iterable[str] = ()) -> Path:
    """Create `path` as an empty 0600 file if it does not exist; make it (and any existing
    companion files, e.g. SQLite's `-wal`, `-shm`) 0600 if it does and is ours."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    for candidate in (path, *(Path(str(path) + suffix) for suffix in companions)):
        if candidate.exists() and _owned(candidate) and stat.S_IMODE(candidate.stat().st_mode) != FILE_MODE:
            os.chmod(candidate, FILE_MODE)
    return path


def _owned(path: Path) -> bool:
    getuid = getattr(os, "getuid", None)
    return getuid is None or path.stat().st_uid == getuid()


__all__ = ["private_directory", "private_file", "DIRECTORY_MODE", "FILE_MODE"]
