"""Files evidence writes (bundles, charts): 0600, and never half-written.

Written to a temporary file in the destination's directory (created 0600 with O_EXCL, whatever
the umask), flushed and fsynced, then renamed over the destination: a reader sees the old file or
the whole new one, never a part (rename is atomic within a file system, POSIX rename(2)). On any
failure the temporary file is removed.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

from ..core.private_files import FILE_MODE


@contextmanager
def private_output(path: "str | os.PathLike[str]") -> Iterator[BinaryIO]:
    """A binary file object whose content replaces `path` atomically when the block ends."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such directory")
    temporary = folder / f".{target.name}.{secrets.token_hex(6)}.part"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def write_private(path: "str | os.PathLike[str]", data: bytes) -> None:
    with private_output(path) as fh:
        fh.write(data)


__all__ = ["private_output", "write_private"]
