"""How a `%%governed --background` handle shows itself: a one-line card that says where the call
is, and, once it is done, how it ended (never "running" after the call finished).

The handle (axonflow_notebook/notebook/calls/background.py) owns its state and its display; it renders
through `handle_summary` whenever that state changes, including the end.
"""

from __future__ import annotations

from typing import Optional

from .escape import NO_MATH, esc, md_esc, short
from .html import FG2, FONT, badge
from .rich import Rich

STATUS_TONES = {"running": "info", "pending approval": "info", "pending": "info", "done": "ok",
                "approved": "ok", "rejected": "bad", "blocked": "bad", "failed": "bad",
                "cancelled": "mute", "expired": "warn", "timeout": "warn"}


def handle_summary(*, model: str, status: str, request_id: Optional[str] = None,
                   done: bool = False) -> Rich:
    """The handle's bundle for its current `status` (`done` True once the result is in)."""
    rid = f", request {request_id}" if request_id else ""
    line = f"GovernedHandle({model}: {status}{rid})"
    hint = "" if done else "await it or call .result()"
    html = (f'<div class="axonflow-handle {NO_MATH}" style="{FONT}">'
            f'<span style="font-family:var(--jp-code-font-family,monospace)">GovernedHandle</span> '
            f"{esc(short(model, 80))}{badge(status, STATUS_TONES.get(status, 'mute'))}"
            + (f' <span style="color:{FG2}">request {esc(request_id)}</span>' if request_id else "")
            + (f' <span style="color:{FG2}">— {esc(hint)}</span>' if hint else "") + "</div>")
    md = f"`GovernedHandle` {md_esc(short(model, 80))} — **{md_esc(status)}**" + (
        f" (request {md_esc(request_id)})" if request_id else "") + (f" — {hint}" if hint else "")
    return Rich(html, md, line,
                {"axonflow": {"request_id": request_id, "status": status}})


__all__ = ["handle_summary"]
