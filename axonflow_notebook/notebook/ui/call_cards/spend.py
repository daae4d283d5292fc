"""Spend card: when a budget covers the call, what the call added and a bar of the budget used.

The budget is as AxonFlow reported it on the pre-check (`BudgetChecked`: use before this call);
the bar adds this call's own cost (`CompletionFinished`), the amount AxonFlow charges from the
audit. One set of facts feeds the static HTML, the Markdown, the one-line text and the live
card's synced state (drawn by static/call_card.js), so they always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ....core.money import usd
from ..escape import clean_text, esc
from ..html import FG2, TONES, badge, card, kv_table
from ..state import NO_ANSWER, CallState
from ..tables import md_rows

PERIOD_WORDS = {"daily": "today", "weekly": "this week", "monthly": "this month", "quarterly": "this quarter",
                "yearly": "this year"}
ACTION_WORDS = {"block": "blocks calls at its limit", "warn": "warns past its limit",
                "downgrade": "warns past its limit"}
BAR_CELLS = 20  # the text bar's width in characters
NEW_SPEND_OPACITY = 0.45  # this call's share: the tone's colour, lighter (earlier use: the full colour)


def fmt_usd(value: Optional[float]) -> str:
    """Dollars: cents from $1 up, four decimals from a cent, six below (one call costs little)."""
    return usd(value)


def fmt_percent(value: float) -> str:
    return f"{value:.0f}%" if abs(value) >= 10 else f"{value:.1f}%"


@dataclass(frozen=True)
class Spend:
    """The facts every rendering of the spend shows."""

    cost: Optional[float]  # this call's cost (None: unknown, or the call was not sent)
    phase: str  # answered | pending | not_sent | failed (the model call itself failed)
    budget: Any  # BudgetChecked, or None
    used_after: Optional[float]
    percent_before: float
    percent_after: float
    tone: str
    title: str
    flag: Optional[str]  # a badge: "over budget", "budget warning"

    @property
    def sent(self) -> bool:
        return self.phase == "answered"

    @property
    def this_call(self) -> str:
        if self.phase == "pending":
            return "…"
        if self.phase == "not_sent":
            return "nothing: the call was not sent to the model"
        if self.phase == "failed":
            return "nothing recorded: the model call failed"
        if self.cost is None:
            return "— (LiteLLM has no price for this model)"
        return fmt_usd(self.cost)

    def budget_label(self) -> str:
        b = self.budget
        name = b.budget_name or b.budget_id or "budget"
        label = name + (f" ({b.budget_id})" if b.budget_id and b.budget_id != name else "")
        bits = [label]
        if b.period:
            bits.append(f"{b.period} (UTC)")
        if b.action:
            bits.append(ACTION_WORDS.get(b.action, b.action))
        return " · ".join(bits)

    def used_text(self) -> str:
        b = self.budget
        if not b.limit_usd:
            return b.warning or "—"
        used = self.used_after if self.used_after is not None else b.used_usd
        when = PERIOD_WORDS.get(b.period or "", "")
        text = f"{fmt_usd(used)} of {fmt_usd(b.limit_usd)} ({fmt_percent(self.percent_after)})"
        return text + (f" {when}" if when else "") + (", after this call" if self.sent and self.cost else "")


def spend_of(state: CallState) -> Spend:
    f, b = state.finished, state.budget
    cost = f.cost_usd if f is not None else None
    if f is not None:
        phase = "answered"
    elif state.failed is not None and state.failed.stage in ("llm", "audit"):
        phase = "failed"
    elif state.failed is not None or state.error or state.cancelled or state.outcome() in NO_ANSWER:
        phase = "not_sent"
    else:
        phase = "pending"
    used_after = None
    before = after = 0.0
    if b is not None and b.limit_usd:
        used_after = b.used_usd + (cost or 0.0)
        before, after = b.used_usd / b.limit_usd * 100, used_after / b.limit_usd * 100
    tone, title, flag = "info", "Spend", None
    if b is not None and b.status == "blocked":
        tone, title, flag = "bad", "Spend — budget used up, call refused", "over budget"
    elif b is not None and (b.status == "warning" or after >= 100):
        tone, flag = "warn", ("over budget (warning)" if b.action != "block" else "budget reached")
    elif b is not None and after >= 80:
        tone = "warn"
    elif b is not None:
        tone = "ok"
    return Spend(cost, phase, b, used_after, before, after, tone, title, flag)


def visible(state: CallState) -> bool:
    """When a budget covers the call (otherwise the audit card's Cost row is the call's spend)."""
    return state.budget is not None


def rows(spend: Spend) -> list[tuple[str, str]]:
    out = [("This call", spend.this_call)]
    if spend.budget is not None:
        out.append(("Budget", spend.budget_label()))
        out.append(("Used", spend.used_text()))
        if spend.budget.warning and spend.budget.limit_usd:
            out.append(("Warning", spend.budget.warning))
    return out


def _widths(spend: Spend) -> tuple[float, float]:
    """(earlier use, this call) as percentages of the bar's width."""
    before = max(0.0, min(spend.percent_before, 100.0))
    return before, max(0.0, min(spend.percent_after, 100.0) - before)


def bar_html(spend: Spend) -> str:
    """The budget bar: earlier use in the tone's colour, this call's share after it."""
    if spend.budget is None or not spend.budget.limit_usd:
        return ""
    before, added = _widths(spend)
    color = TONES.get(spend.tone, TONES["info"])
    label = spend.used_text()
    return (
        f'<div class="axonflow-budget-bar" role="img" aria-label="{esc("budget used: " + label)}" '
        f'title="{esc(label)}" style="display:flex;width:100%;max-width:360px;height:8px;margin:4px 0 2px;'
        f'border-radius:4px;overflow:hidden;background:var(--jp-layout-color3,#e0e0e0)">'
        f'<div class="axonflow-budget-used" style="width:{before:.2f}%;background:{color}"></div>'
        f'<div class="axonflow-budget-added" style="width:{added:.2f}%;background:{color};'
        f'opacity:{NEW_SPEND_OPACITY}"></div></div>'
    )


def spend_html(state: CallState, *, tagged: bool = True) -> str:
    spend = spend_of(state)
    badges = [badge(spend.flag, spend.tone)] if spend.flag else []
    body = kv_table((k, esc(v)) for k, v in rows(spend)) + bar_html(spend)
    if spend.budget is not None and spend.budget.limit_usd and spend.sent and spend.cost:
        body += f'<div style="color:{FG2};font-size:0.9em">lighter: this call\'s share</div>'
    return card("spend", spend.title, body, tone=spend.tone, badges=badges, tagged=tagged)


def text_bar(spend: Spend) -> str:
    """`█████▒▒░░░░░░░░░░░░░ 42%`: earlier use, this call, what is left."""
    before, added = _widths(spend)
    used = round(before / 100 * BAR_CELLS)
    new = min(BAR_CELLS - used, round((before + added) / 100 * BAR_CELLS) - used)
    return f"{'█' * used}{'▒' * new}{'░' * (BAR_CELLS - used - new)} {fmt_percent(spend.percent_after)}"


def spend_markdown(state: CallState) -> str:
    spend = spend_of(state)
    head = f"**{spend.title}**" + (f" ({spend.flag})" if spend.flag else "")
    lines = rows(spend)
    if spend.budget is not None and spend.budget.limit_usd:
        lines.append(("Budget used", text_bar(spend)))
    return f"{head}\n\n{md_rows(lines)}"


def spend_line(state: CallState) -> str:
    """`spent $0.000014 · budget Team cap: 42% of $10.00` (the one-line summary's part)."""
    spend = spend_of(state)
    bits = []
    if spend.sent and spend.cost is not None:
        bits.append(f"spent {fmt_usd(spend.cost)}")
    b = spend.budget
    if b is not None and b.limit_usd:
        name = b.budget_name or b.budget_id
        state_word = {"blocked": " (used up, call refused)", "warning": " (over, warning)"}.get(b.status, "")
        bits.append(f"budget {name}: {fmt_percent(spend.percent_after)} of {fmt_usd(b.limit_usd)}{state_word}")
    return " · ".join(bits)


def spend_payload(state: CallState) -> Optional[dict]:
    """The live card's synced state for this section (drawn as text by static/call_card.js)."""
    if not visible(state):
        return None
    spend = spend_of(state)
    bar = None
    if spend.budget is not None and spend.budget.limit_usd:
        before, added = _widths(spend)
        bar = {"before": round(before, 2), "added": round(added, 2), "percent": round(spend.percent_after, 4),
               "label": clean_text(spend.used_text()), "tone": spend.tone}
    return {"title": spend.title, "tone": spend.tone, "flag": spend.flag or "",
            "rows": [[clean_text(k), clean_text(v)] for k, v in rows(spend)], "bar": bar,
            "note": "lighter: this call's share" if bar and spend.sent and spend.cost else ""}


__all__ = ["Spend", "spend_of", "visible", "spend_html", "spend_markdown", "spend_line", "spend_payload",
           "fmt_usd", "fmt_percent", "text_bar"]
