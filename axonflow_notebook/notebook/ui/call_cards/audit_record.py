"""Audit record card: where the call was recorded and what it cost."""

from __future__ import annotations

from ..escape import esc
from ..format import fmt_cost, fmt_ms, fmt_time
from ..html import badge, card, kv_table
from ..state import CallState
from ..tables import md_rows
from .decision import skip_text


def visible(state: CallState) -> bool:
    return state.audit is not None or state.finished is not None or \
        state.skipped_at("audit") is not None


def rows(state: CallState) -> list[tuple[str, str]]:
    a, f = state.audit, state.finished
    out = [("Audit id", (a.audit_id if a and a.audit_id else None) or "—")]
    if state.context_id:
        out.append(("Context id", state.context_id))
    if f is not None:
        out += [
            ("Model", f.model or state.model or "—"),
            ("Provider", f.provider or "—"),
            ("Tokens", f"{f.prompt_tokens} prompt + {f.completion_tokens} completion = "
                       f"{f.total_tokens} total"),
            ("Cost", fmt_cost(f.cost_usd)),
            ("Latency", fmt_ms(f.latency_ms)),
        ]
    when = a.at if a is not None else (f.at if f is not None else None)
    out.append(("Time", fmt_time(when)))
    if a is not None and not a.delivered:
        out.append(("Delivery", "not delivered" + (f" — {a.detail}" if a.detail else "")))
    skipped = state.skipped_at("audit")
    if skipped is not None:
        out.append(("Skipped", skip_text(skipped)))
    return out


def _tone(state: CallState) -> str:
    a = state.audit
    if (a is not None and not a.delivered) or state.skipped_at("audit") is not None:
        return "warn"
    return "ok" if a is not None else "mute"


def audit_html(state: CallState, *, tagged: bool = True) -> str:
    title = "Audit record" if state.audit is not None else "Audit record — pending"
    badges = [badge("simulated", "warn")] if state.shows_simulated else []
    return card("audit", title, kv_table((k, esc(v)) for k, v in rows(state)),
                tone=_tone(state), badges=badges, tagged=tagged)


def audit_markdown(state: CallState) -> str:
    return f"**Audit record**\n\n{md_rows(rows(state))}"
