"""`%axonflow status`: backend, health, breaker and effective configuration, secrets masked."""

from __future__ import annotations

import re
from typing import Any, Mapping

from .escape import esc
from .html import card, kv_table
from .rich import Rich
from .tables import md_table, text_table

_SECRET_KEY = re.compile(r"secret|token|password|passwd|api[_-]?key|license|credential|auth",
                         re.I)


def mask(key: str, value: Any) -> Any:
    """Secrets never shown: any value under a secret-looking key becomes `••••` (or `—`)."""
    if _SECRET_KEY.search(str(key)) and not isinstance(value, bool):
        return "••••" if value not in (None, "", "(not set)") else "(not set)"
    return value


def _flatten(status: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in status.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and not _SECRET_KEY.search(str(key)):
            rows += _flatten(value, f"{name}.")
        else:
            rows.append((name, mask(str(key), value)))
    return rows


def show(value: Any) -> str:
    """A setting's value as text: `—` for none, lists joined with commas."""
    if value is None:
        return "—"
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def status_table(info: Mapping[str, Any]) -> Rich:
    """The status card: every setting on its own row (nested mappings flattened with dots)."""
    rows = [(k, show(v)) for k, v in _flatten(info)]
    healthy = str(info.get("health", info.get("healthy", ""))).lower()
    tone = "ok" if healthy in ("ok", "true", "healthy") else ("bad" if healthy else "info")
    page = card("status", "AxonFlow status", kv_table((k, esc(v)) for k, v in rows), tone=tone)
    return Rich(page, "**AxonFlow status**\n\n" + md_table(["setting", "value"], rows),
                "AxonFlow status\n" + text_table(["setting", "value"], rows))


__all__ = ["status_table", "mask", "show"]
