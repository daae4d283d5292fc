"""UTC timestamps in one fixed-width RFC 3339 form.

Every timestamp the agent stores or sends is ``YYYY-MM-DDTHH:MM:SS.ffffffZ``: the SDK parses
it, and because the width is fixed the store can compare and sort them as plain text.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_epoch(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime(_FORMAT)


def now() -> str:
    return format_epoch(time.time())


def parse(value: str) -> str:
    """Normalise a client-supplied ISO 8601 time to the stored form.

    A time without an offset is taken as UTC (the SDK sends ``datetime.isoformat()``,
    naive or aware). Raises ValueError for anything that is not a time.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError("not a timestamp")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).strftime(_FORMAT)
