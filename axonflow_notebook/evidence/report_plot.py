"""The report's charts: one static SVG drawn with matplotlib, readable wherever a notebook is.

Why matplotlib (the `evidence` extra): it writes a static SVG in-process, offline, with no
JavaScript and no browser, so the chart survives a saved notebook, GitHub, nbviewer and an
untrusted notebook alike; Vega-Lite (altair) would need its JavaScript runtime to draw, or
vl-convert's bundled engine to make the same static image. Text stays text (`svg.fonttype:
none`: searchable, accessible, testable by structure) and is never read as maths
(`text.parse_math: False`: a policy or model name holding `$` shows as written). Each panel is a
`<g>` with an id (`axonflow-…`) and a title; the file is reproducible (fixed hash salt, no date).
"""

from __future__ import annotations

import io
from typing import Any, Dict, List, Sequence, Tuple

from ..core.money import usd
from .report_stats import OUTCOMES, ReportData, Usage

COLORS = {
    "allowed": "#2e7d32", "redacted": "#6a1b9a", "approved": "#00897b", "needs_approval": "#1565c0",
    "expired": "#b26a00", "rejected": "#ad1457", "blocked": "#c62828", "refused": "#616161",
    "failed": "#9e9e9e", "cancelled": "#bdbdbd", "error": "#757575", "unknown": "#e0e0e0",
    "ungoverned": "#ff1744",
}
RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "axonflow-report",
    "text.parse_math": False,
    "text.usetex": False,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
}
TOP = 10  # bars per ranking
_LABEL = 28  # characters of a label


def _short(text: Any, limit: int = _LABEL) -> str:
    value = " ".join(str(text).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def money(value: float) -> str:
    return usd(value)


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#757575")
    ax.set_xticks([])
    ax.set_yticks([])


def _timeline(ax: Any, data: ReportData) -> None:
    ax.set_title(f"Decisions over time (per {data.bin_label}, stacked by outcome)")
    ax.set_gid("axonflow-decisions-over-time")
    if not data.bins or not data.calls:
        _empty(ax, "no calls in this period")
        return
    import matplotlib.dates as mdates
    from matplotlib.ticker import MaxNLocator

    starts = [start for start, _ in data.bins]
    width = (1 / 24 if data.bin_label == "hour" else 1) * 0.85
    bottom = [0] * len(starts)
    for outcome in [o for o in OUTCOMES if data.decisions.get(o)] + sorted(set(data.decisions) - set(OUTCOMES)):
        heights = [counts.get(outcome, 0) for _, counts in data.bins]
        bars = ax.bar(starts, heights, width=width, bottom=bottom, align="edge", label=_short(outcome),
                      color=COLORS.get(outcome, "#90a4ae"), edgecolor="#b71c1c" if outcome == "ungoverned" else None,
                      hatch="///" if outcome == "ungoverned" else None, linewidth=0.8)
        for bar in bars:
            bar.set_gid(f"axonflow-outcome-{outcome}")
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.set_ylabel("calls")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M" if data.bin_label == "hour" else "%Y-%m-%d"))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=8))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)


def _ranking(ax: Any, title: str, gid: str, items: Sequence[Tuple[str, float]], xlabel: str,
             notes: Sequence[str] = (), empty: str = "none") -> None:
    ax.set_title(title)
    ax.set_gid(gid)
    if not items:
        _empty(ax, empty)
        return
    labels = [_short(label) for label, _ in items][::-1]
    values = [value for _, value in items][::-1]
    bars = ax.barh(range(len(items)), values, color="#1565c0")
    ax.set_yticks(range(len(items)), labels)
    ax.set_xlabel(xlabel)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    top = max(values) or 1
    for bar, note in zip(bars, list(notes)[::-1] or [""] * len(items)):
        if note:
            ax.text(bar.get_width() + top * 0.02, bar.get_y() + bar.get_height() / 2, note, va="center", fontsize=8)
    ax.set_xlim(0, top * 1.35)


def _usage(ax: Any, title: str, gid: str, usage: Dict[str, Usage]) -> None:
    used = [(name, u) for name, u in usage.items() if u.tokens or u.priced]  # calls that reached a model
    ranked = sorted(used, key=lambda item: (-item[1].tokens, -item[1].calls, item[0]))[:TOP]
    notes = [money(u.cost) if u.priced else "cost unknown" for _, u in ranked]
    _ranking(ax, title, gid, [(name, u.tokens) for name, u in ranked], "tokens (bar); cost (label)", notes,
             empty="no call reached a model")


def _approvals(ax: Any, data: ReportData) -> None:
    ax.set_title("How long approvals took")
    ax.set_gid("axonflow-approval-waits")
    waits = sorted(data.approval_seconds)
    if not waits:
        _empty(ax, "no approvals in this period")
        return
    ax.hist(waits, bins=min(20, max(5, len(waits))), color="#00897b")
    median = waits[len(waits) // 2]
    ax.axvline(median, color="#b26a00", linestyle="--", linewidth=1.2)
    ax.text(median, ax.get_ylim()[1] * 0.95, f" median {median:.0f} s", color="#b26a00", va="top", fontsize=8)
    ax.set_xlabel("seconds from request to decision")
    ax.set_ylabel("approvals")
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _headline(data: ReportData) -> Tuple[str, str]:
    where = "AxonFlow's audit trail" if data.source == "server" else "the local journal"
    title = f"AxonFlow governance report: {data.calls} calls, {data.period.label()} ({where})"
    if data.ungoverned:
        noun = "call" if len(data.ungoverned) == 1 else "calls"
        return title, f"{len(data.ungoverned)} {noun} ran UNGOVERNED (AxonFlow unreachable, fail-open)"
    return title, ""


def render_svg(data: ReportData) -> str:
    """The report's figure as SVG text (matplotlib, imported here: the `evidence` extra)."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("the report's charts need matplotlib: pip install 'axonflow-notebook[evidence]'") from None
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(11, 10.5), layout="constrained")
        grid = fig.add_gridspec(3, 2, height_ratios=(1.1, 1, 1))
        title, warning = _headline(data)
        fig.suptitle(title + (f"\n{warning}" if warning else ""), fontsize=11, fontweight="bold",
                     color="#c62828" if warning else "#1f1f1f")
        _timeline(fig.add_subplot(grid[0, :]), data)
        _ranking(fig.add_subplot(grid[1, 0]), "Policies triggered most", "axonflow-top-policies",
                 data.policies.most_common(TOP), "calls", [str(n) for _, n in data.policies.most_common(TOP)],
                 empty="no policy matched")
        _approvals(fig.add_subplot(grid[1, 1]), data)
        _usage(fig.add_subplot(grid[2, 0]), "Tokens and cost by model", "axonflow-usage-by-model", data.by_model)
        _usage(fig.add_subplot(grid[2, 1]), "Tokens and cost by user", "axonflow-usage-by-user", data.by_user)
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def panel_titles() -> List[str]:
    return ["Decisions over time", "Policies triggered most", "How long approvals took",
            "Tokens and cost by model", "Tokens and cost by user"]


__all__ = ["render_svg", "COLORS", "money", "panel_titles"]
