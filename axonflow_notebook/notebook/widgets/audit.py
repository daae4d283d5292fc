"""Audit record card: where the call was recorded and what it cost."""

from __future__ import annotations

from ..render import badge, card, esc, fmt_cost, fmt_ms, fmt_time, kv_table, md_esc
from .decision import skip_text
from .state import CallState


def visible(state: CallState) -> bool:
    return state.audit is not None or state.finished is not None or \
        state.skipped_at("audit") is not None


def _rows(state: CallState) -> list[tuple[str, str]]:
    a, f = state.audit, state.finished
    rows = [("Audit id", (a.audit_id if a and a.audit_id else None) or "—")]
    if state.context_id:
        rows.append(("Context id", state.context_id))
    if f is not None:
        rows += [
            ("Model", f.model or state.model or "—"),
            ("Provider", f.provider or "—"),
            ("Tokens", f"{f.prompt_tokens} prompt + {f.completion_tokens} completion = "
                       f"{f.total_tokens} total"),
            ("Cost", fmt_cost(f.cost_usd)),
            ("Latency", fmt_ms(f.latency_ms)),
        ]
    when = a.at if a is not None else (f.at if f is not None else None)
    rows.append(("Time", fmt_time(when)))
    if a is not None and not a.delivered:
        rows.append(("Delivery", "not delivered" + (f" — {a.detail}" if a.detail else "")))
    skipped = state.skipped_at("audit")
    if skipped is not None:
        rows.append(("Skipped", skip_text(skipped)))
    return rows


def _tone(state: CallState) -> str:
    a = state.audit
    if (a is not None and not a.delivered) or state.skipped_at("audit") is not None:
        return "warn"
    return "ok" if a is not None else "mute"


def audit_html(state: CallState, *, tagged: bool = True) -> str:
    title = "Audit record" if state.audit is not None else "Audit record — pending"
    badges = [badge("simulated", "warn")] if state.simulated else []
    return card("audit", title, kv_table((k, esc(v)) for k, v in _rows(state)),
                tone=_tone(state), badges=badges, tagged=tagged)


def audit_markdown(state: CallState) -> str:
    rows = "\n".join(f"- {k}: {md_esc(v)}" for k, v in _rows(state))
    return f"**Audit record**\n\n{rows}"
