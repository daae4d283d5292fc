"""UTC timestamps in one fixed-width RFC 3339 form.

Every timestamp the agent stores or sends is ``YYYY-MM-DDTHH:MM:SS.ffffffZ``: the SDK parses
it, and because the width is fixed the store can compare and sort them as plain text.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


_second_cache: dict[int, str] = {}


def _second(seconds: int) -> str:
    text = _second_cache.get(seconds)
    if text is None:
        if len(_second_cache) > 64:
            _second_cache.clear()
        t = time.gmtime(seconds)
        text = "%04d-%02d-%02dT%02d:%02d:%02d." % (
            t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec
        )
        _second_cache[seconds] = text
    return text


def format_epoch(epoch: float) -> str:
    # Pre-check formats two timestamps per call; the date-and-time part changes once a
    # second, so it is cached and only the microseconds are formatted each time.
    seconds = int(epoch)
    micros = int(round((epoch - seconds) * 1_000_000))
    if micros >= 1_000_000:
        seconds, micros = seconds + 1, micros - 1_000_000
    return "%s%06dZ" % (_second(seconds), micros)


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
