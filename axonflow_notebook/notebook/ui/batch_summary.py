"""A batch in words: the progress line, and the static summary that replaces the live widget.

The summary is self-contained HTML (inline styles, no JS), Markdown and one plain line, plus
ids and counts in the output metadata (never a prompt). It lists the rows that did not go
through and every held row's decision; the answers themselves are in the result frame.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

from .batch_state import STATUS_TONES, BatchState
from .escape import NO_MATH, esc, md_esc, short
from .format import fmt_cost, fmt_seconds
from .html import FG2, FONT, MAX_WIDTH, badge, data_table
from .rich import Rich
from .tables import md_table, text_table

PROBLEMS_SHOWN = 20
HELD_SHOWN = 50
NOT_THROUGH = ("blocked", "rejected", "expired", "failed")


def count_words(state: BatchState) -> str:
    return ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in state.ordered_counts()) or "no rows yet"


def rate_words(state: BatchState) -> str:
    rate = state.rate()
    bits = [f"{rate:.1f} rows/s" if rate is not None else "— rows/s"]
    eta = state.eta()
    if eta is not None:
        bits.append(f"ETA {fmt_seconds(eta)}")
    elif not state.finished and state.pending_held() and state.done + len(state.pending_held()) >= state.total:
        bits.append("the rest wait for a reviewer")
    elif state.finished:
        bits.append(f"in {fmt_seconds(state.elapsed())}" if state.elapsed() >= 1 else
                    f"in {state.elapsed() * 1000:.0f} ms")
    return " · ".join(bits)


def spend_words(state: BatchState) -> str:
    spent = state.spent_usd or 0.0
    # simulated answers carry LiteLLM's price of their mock usage: counted, but never paid
    verb = "spent (simulated answers, nothing paid)" if state.simulated else "spent"
    if state.budget_usd is not None:
        share = f" ({spent / state.budget_usd:.0%})" if state.budget_usd > 0 else ""
        return f"{verb} {fmt_cost(spent)} of a {fmt_cost(state.budget_usd)} budget{share}"
    headroom = state.axonflow_headroom_usd
    if headroom is not None:  # AxonFlow's own budget (core/batch/axonflow_budget.py)
        share = f" ({spent / headroom:.0%})" if headroom > 0 else ""
        return f"{verb} {fmt_cost(spent)} of the {fmt_cost(headroom)} the AxonFlow budget had left{share}"
    return f"{verb} {fmt_cost(state.spent_usd)}" if state.spent_usd is not None else ""


def forecast_words(state: BatchState) -> str:
    if state.started_at is None:
        return ""
    limit = f" · {state.axonflow_budget}" if state.axonflow_budget else ""
    if state.forecast_usd is None:
        return f"no cost forecast: LiteLLM has no price for {state.model}{limit}"
    return f"forecast {fmt_cost(state.forecast_usd)} for {state.total} rows ({state.forecast_basis}){limit}"


def note_words(state: BatchState) -> str:
    """Why scheduling waits or stopped, or how the batch ended early."""
    if state.cancelled:
        return f"{state.cancelled}: the rows that had not finished are marked cancelled"
    if state.stopped == "budget":
        skipped = state.counts.get("skipped_budget", 0)
        return f"budget reached: scheduling stopped, {skipped} rows skipped — {state.stop_detail}"
    if state.paused is not None and not state.finished:
        return state.paused.detail
    if state.ungoverned:
        return f"{state.ungoverned} rows ran ungoverned: AxonFlow did not answer (fail-open)"
    return ""


def batch_line(state: BatchState) -> str:
    """One line: the terminal's progress display and the summary's text/plain."""
    head = f"AxonFlow batch: {state.done}/{state.total} rows of {state.model}"
    if state.phase and state.started_at is None:
        return f"{head} · {state.phase}"
    bits = [head, count_words(state), rate_words(state)]
    spend = spend_words(state)
    if spend:
        bits.append(spend)
    note = note_words(state)
    if note:
        bits.append(note)
    return short(" · ".join(bits), 400)


def _problem_rows(state: BatchState, result: Any) -> List[List[str]]:
    rows = []
    for row in getattr(result, "rows", None) or []:
        if row.status in NOT_THROUGH:
            error = f"{type(row.error).__name__}: {row.error}" if row.error is not None else ""
            rows.append([str(row.index), row.status, ", ".join(row.policies) or "—",
                         short(state.preview(row.index), 80), short(error, 160)])
    return rows


def _held_rows(state: BatchState) -> List[List[str]]:
    return [[str(row.index), row.request_id, row.policy, row.status, short(row.note, 80) or "—"]
            for _, rows in state.held_groups() for row in rows]


def batch_summary(state: BatchState, result: Any = None, *, where: str = "_governed") -> Rich:
    """The static form of a finished (or stopped) batch."""
    title = f"AxonFlow batch — {state.total} rows of {state.model}"
    ending = (f"The result frame is in {where}; the BatchResult in _governed_batch." if state.finished else
              f"A snapshot of the batch while it ran ({state.done} of {state.total} rows had ended).")
    lines = [w for w in (f"{count_words(state)} · {rate_words(state)}", spend_words(state),
                         forecast_words(state), note_words(state), ending) if w]
    problems, held = _problem_rows(state, result), _held_rows(state)
    problem_head = ("#", "Status", "Policies", "Prompt", "Why")
    held_head = ("#", "Request", "Policy", "Decision", "Reviewer / comment")
    extra_problems = max(0, len(problems) - PROBLEMS_SHOWN)
    extra_held = max(0, len(held) - HELD_SHOWN)
    problems, held = problems[:PROBLEMS_SHOWN], held[:HELD_SHOWN]

    counts = "".join(badge(f"{n} {status.replace('_', ' ')}", STATUS_TONES.get(status, "mute"))
                     for status, n in state.ordered_counts())
    parts = [f'<div style="font-weight:600">{esc(title)}{counts}</div>']
    parts += [f'<div style="color:{FG2}">{esc(line)}</div>' for line in lines]
    if problems:
        parts.append('<div style="font-weight:600;margin-top:6px">Rows that did not go through</div>')
        parts.append(data_table(problem_head, [[esc(c[0]), badge(c[1], STATUS_TONES.get(c[1], "mute")),
                                                esc(c[2]), esc(c[3]), esc(c[4])] for c in problems],
                                widths=("6%", "12%", "18%", "30%", "34%")))
        if extra_problems:
            parts.append(f'<div style="color:{FG2}">… and {extra_problems} more (the result frame has them all)</div>')
    if held:
        parts.append('<div style="font-weight:600;margin-top:6px">Held rows</div>')
        parts.append(data_table(held_head, [[esc(c[0]), esc(short(c[1], 14)), esc(c[2]),
                                             badge(c[3], STATUS_TONES.get(c[3], "mute")), esc(c[4])]
                                            for c in held], widths=("6%", "18%", "26%", "14%", "36%")))
        if extra_held:
            parts.append(f'<div style="color:{FG2}">… and {extra_held} more held rows</div>')
    html = (f'<div class="axonflow-summary axonflow-batch-summary {NO_MATH}" style="{FONT};max-width:{MAX_WIDTH};'
            f'border:1px solid var(--jp-border-color2,#e0e0e0);border-left:4px solid #1565c0;border-radius:4px;'
            f'padding:6px 10px;box-sizing:border-box">{"".join(parts)}</div>')

    md = [f"**{md_esc(title)}**", ""] + [md_esc(line) + "  " for line in lines]
    if problems:
        md += ["", "**Rows that did not go through**", "", md_table(problem_head, problems)]
    if held:
        md += ["", "**Held rows**", "", md_table(held_head, held)]
    plain_lines = [batch_line(state)]
    if problems:
        plain_lines.append(text_table(problem_head, problems, width=60))
    plain = "\n".join(plain_lines)
    metadata = {"axonflow": {"batch_id": state.batch_id, "rows": state.total, "counts": dict(state.ordered_counts()),
                             "spent_usd": state.spent_usd, "stopped": state.stopped or state.cancelled and "cancelled"}}
    return Rich(html, "\n".join(md), plain, metadata)


def progress_payload(state: BatchState) -> dict:
    """The widget's progress trait: plain strings and numbers the browser sets as text."""
    share = state.done / state.total if state.total else 1.0
    return {
        "done": state.done, "total": state.total, "share": share,
        "counts": [[status.replace("_", " "), n, STATUS_TONES.get(status, "mute")]
                   for status, n in state.ordered_counts()],
        "rate": rate_words(state) if state.started_at is not None else (state.phase or "starting…"),
        "spend": spend_words(state),
        "budget_share": _budget_share(state),
        "forecast": forecast_words(state),
        "note": note_words(state),
        "finished": state.finished,
    }


def _budget_share(state: BatchState) -> Optional[float]:
    """How much of the batch's budget is spent: `--budget`, else AxonFlow's headroom (None: neither)."""
    limit = state.budget_usd if state.budget_usd is not None else state.axonflow_headroom_usd
    return min(1.0, (state.spent_usd or 0.0) / limit) if limit else None


def recent_payload(state: BatchState) -> List[dict]:
    return [{"index": index, "status": status.replace("_", " "), "tone": STATUS_TONES.get(status, "mute"),
             "prompt": short(state.preview(index), 90), "answer": short(answer, 120)}
            for index, status, answer in list(state.recent)]


def held_payload(state: BatchState, sending: Sequence[str] = ()) -> List[dict]:
    return [{"policy": policy, "rows": [
        {"request_id": row.request_id, "index": row.index, "prompt": short(state.preview(row.index), 120),
         "status": "sending" if row.request_id in sending and row.status == "pending" else row.status,
         "tone": STATUS_TONES.get(row.status, "info"), "note": short(row.note, 80)} for row in rows]}
        for policy, rows in state.held_groups()]


def waiting_line(state: BatchState) -> Optional[str]:
    pending = state.pending_held()
    if not pending:
        return None
    return (f"{len(pending)} held row{'s' if len(pending) != 1 else ''} waiting for a reviewer: "
            "%axonflow queue (or %axonflow approve ID) from another notebook or IPython")


__all__ = ["batch_line", "batch_summary", "progress_payload", "recent_payload", "held_payload", "waiting_line",
           "count_words", "spend_words", "forecast_words", "note_words"]
