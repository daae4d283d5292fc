"""`%axonflow budget`: the budgets in force, each with its use, limit, period and a forecast.

The forecast is linear: the use so far in the current period, extended to its end
(`forecast_usd` in axonflow_notebook/core/budget_console.py); the table says so. Bars are the
spend card's (call_cards/spend.py), so a budget looks the same here and on a call's card.
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Optional, Sequence, Set

from .call_cards.spend import ACTION_WORDS, BAR_CELLS, fmt_percent, fmt_usd
from .escape import esc, md_esc
from .format import fmt_time
from .html import FG2, TONES, badge, card, data_table, mono, note
from .rich import Rich
from .tables import md_table, text_table

PERIOD_NOUNS = {"daily": "a day", "weekly": "a week", "monthly": "a month", "quarterly": "a quarter",
                "yearly": "a year"}
FORECAST_NOTE = ("Forecast: the use at the end of the period, if it goes on as so far (the use so far in "
                 "the current period, extended linearly to its end). Periods are UTC.")
EMPTY = ("No budgets in force. A reviewer creates one with %axonflow budget set ID --limit USD "
         "--period daily --scope workflow (this notebook's calls).")


def describe_budget(budget: Any) -> str:
    """`$5.00 a day (UTC) for workflow /home/ana/churn.ipynb, blocks calls at its limit`."""
    if budget.scope_id:
        whom = f"{budget.scope} {budget.scope_id}"
    else:
        whom = "the whole organization" if budget.scope == "organization" else f"every {budget.scope}"
    return (f"{fmt_usd(budget.limit_usd)} {PERIOD_NOUNS.get(budget.period, budget.period)} (UTC) for {whom}, "
            f"{ACTION_WORDS.get(budget.on_exceed, budget.on_exceed)}")


def _counts(budget: Any) -> str:
    if budget.scope_id:
        return f"{budget.scope} {budget.scope_id}"
    return "every call" if budget.scope == "organization" else f"every {budget.scope}, each"


def _source(budget: Any) -> str:
    if not budget.source or budget.source == "api":
        return "API"
    return f"policy file {budget.source} (change it there)"


def _tone(status: Any, forecast: Optional[float]) -> str:
    limit = status.budget.limit_usd
    if status.blocked:
        return "bad"
    if status.exceeded:
        return "warn"
    if status.percentage >= 80 or (forecast is not None and limit and forecast > limit):
        return "warn"
    return "ok"


def _bar_html(percent: float, tone: str, label: str) -> str:
    width = max(0.0, min(percent, 100.0))
    return (f'<div class="axonflow-budget-bar" role="img" aria-label="{esc("budget used: " + label)}" '
            f'title="{esc(label)}" '
            f'style="display:flex;width:100%;max-width:220px;height:8px;margin:3px 0;border-radius:4px;'
            f'overflow:hidden;background:var(--jp-layout-color3,#e0e0e0)">'
            f'<div class="axonflow-budget-used" style="width:{width:.2f}%;background:{TONES.get(tone)}"></div></div>')


def _text_bar(percent: float) -> str:
    cells = round(max(0.0, min(percent, 100.0)) / 100 * BAR_CELLS)
    return f"{'█' * cells}{'░' * (BAR_CELLS - cells)}"


def _forecast_text(forecast: Optional[float], limit: float) -> str:
    if forecast is None:
        return "—"
    text = fmt_usd(forecast)
    if limit and forecast > limit:
        text += f" (over by {fmt_usd(forecast - limit)})"
    return text


def budgets_table(statuses: Sequence[Any], *, forecasts: Mapping[str, Optional[float]], applies: Set[str],
                  usage: Any = None, notebook: Optional[str] = None, user: Optional[str] = None,
                  client_id: str = "", now: Optional[float] = None) -> Rich:
    """The budgets in force (`BudgetStatusRecord`s), each with its forecast and whether it covers
    this notebook's calls."""
    now = time.time() if now is None else now
    who = ", ".join(bit for bit in (f"notebook {notebook}" if notebook else "", f"client {client_id}"
                                     if client_id else "", f"user {user}" if user else "") if bit)
    head = f"AxonFlow budgets — {len(statuses)} in force" if statuses else "AxonFlow budgets — none in force"
    lines = []
    if usage is not None and notebook:
        lines.append(f"This notebook this month: {fmt_usd(usage.total_cost_usd)} over {usage.requests} "
                     f"call{'s' if usage.requests != 1 else ''}.")
    html_rows, md_rows, text_rows = [], [], []
    for status in statuses:
        b = status.budget
        forecast = forecasts.get(b.id)
        tone = _tone(status, forecast)
        here = b.id in applies
        used = f"{fmt_usd(status.used_usd)} of {fmt_usd(b.limit_usd)} ({fmt_percent(status.percentage)})"
        ends = f"{b.period} (UTC), ends {fmt_time(status.period_end)}" if status.period_end else f"{b.period} (UTC)"
        over = ACTION_WORDS.get(b.on_exceed, b.on_exceed) + ("" if b.enabled else " (disabled)")
        flags = "".join([badge("covers this notebook", "info") if here else "",
                         badge("used up", "bad") if status.blocked else
                         badge("over", "warn") if status.exceeded else ""])
        name = f"<strong>{esc(b.name)}</strong>{flags}" + (f"<br>{mono(b.id)}" if b.id != b.name else "")
        html_rows.append([
            name + f'<div style="color:{FG2};font-size:0.9em">{esc(_source(b))}</div>',
            esc(_counts(b)), esc(ends),
            esc(used) + _bar_html(status.percentage, tone, used),
            f'<span style="color:{TONES[tone] if forecast and forecast > b.limit_usd else "inherit"}">'
            f"{esc(_forecast_text(forecast, b.limit_usd))}</span>",
            esc(over),
        ])
        md_rows.append([b.name, b.id, _counts(b), ends, used, _text_bar(status.percentage),
                        _forecast_text(forecast, b.limit_usd), over, "yes" if here else "", _source(b)])
        text_rows.append([b.id, _counts(b), b.period, used, _forecast_text(forecast, b.limit_usd),
                          b.on_exceed, "yes" if here else ""])
    notes = [FORECAST_NOTE] + ([f"“covers this notebook”: counts the calls of this {who}."] if who else [])
    body = "".join(note(line) for line in lines)
    if statuses:
        body += data_table(["Budget", "Counts", "Period", "Used", "Forecast", "Past the limit"],
                           html_rows, widths=["20%", "20%", "15%", "20%", "12%", "13%"])
        body += "".join(note(n) for n in notes)
    else:
        body += note(EMPTY)
    page = card("budgets", head, body, tone="info")  # its root carries NO_MATH (html.py)
    md_parts = [f"**{md_esc(head)}**"] + [md_esc(line) for line in lines]
    if statuses:
        md_parts.append(md_table(["budget", "id", "counts", "period", "used", "bar", "forecast to period end",
                                  "past the limit", "covers this notebook", "source"], md_rows))
        md_parts += [md_esc(n) for n in notes]
    else:
        md_parts.append(md_esc(EMPTY))
    plain = "\n".join([head] + lines + ([text_table(["id", "counts", "period", "used", "forecast", "past limit",
                                                     "here"], text_rows, width=48)] + notes if statuses else [EMPTY]))
    return Rich(page, "\n\n".join(md_parts), plain, {"axonflow": {"budgets": [s.budget.id for s in statuses]}})


__all__ = ["budgets_table", "describe_budget", "FORECAST_NOTE"]
