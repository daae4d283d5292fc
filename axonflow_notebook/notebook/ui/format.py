"""Formatting of durations, times, costs and enum values for people (never `PolicyAction.BLOCK`)."""

from __future__ import annotations

import datetime as _dt
import enum
from typing import Any, Optional

from ...core.money import usd


def fmt_seconds(seconds: Optional[float]) -> str:
    if seconds is None:
        return "—"
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {(s % 3600) // 60:02d}m"


def fmt_ms(ms: Optional[float]) -> str:
    if ms is None:
        return "—"
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def _parsed(value: Any) -> Optional[_dt.datetime]:
    if isinstance(value, _dt.datetime):
        parsed = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return _dt.datetime.fromtimestamp(value, _dt.timezone.utc)
    elif not value:
        return None
    else:
        try:
            parsed = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed.replace(tzinfo=_dt.timezone.utc) if parsed.tzinfo is None else parsed


def fmt_time(value: Any) -> str:
    """Epoch seconds, a datetime or an ISO string as `YYYY-MM-DD HH:MM:SS UTC`; else as given."""
    if value is None or value == "":
        return "—"
    parsed = _parsed(value)
    if parsed is None:
        return str(value)
    return parsed.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def parse_time(value: Any) -> Optional[float]:
    """Epoch seconds from an epoch number, a datetime or an ISO string (naive = UTC)."""
    parsed = _parsed(value)
    return None if parsed is None else parsed.timestamp()


def fmt_cost(cost: Optional[float]) -> str:
    return usd(cost)  # the core's one rule, so a card and the core's messages agree


def word(value: Any) -> str:
    """An enum or enum-like value as a word: `PolicyAction.REQUIRE_APPROVAL` → `require approval`."""
    if isinstance(value, enum.Enum):
        value = value.value
    text = "" if value is None else str(value)
    if "." in text and text.split(".", 1)[0][:1].isupper():  # "PolicyAction.BLOCK"
        text = text.split(".", 1)[1]
    return text.replace("_", " ").strip().lower() or "—"


__all__ = ["fmt_seconds", "fmt_ms", "fmt_time", "parse_time", "fmt_cost", "word"]
