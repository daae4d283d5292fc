"""`%axonflow report`, `verify` and `export`: static outputs every frontend shows, kernel or not.

The report's charts are the evidence package's SVG (matplotlib), embedded as an `<img>` with a
`data:` URI: JupyterLab's sanitizer keeps it in an untrusted notebook (it checks the schemes of
`href` and `cite` only), where it would refuse an `image/svg+xml` output or inline `<svg>`; the
bundle also carries the SVG as `image/svg+xml` for renderers that skip HTML. Every value from
the trail is escaped, and nothing is typeset as maths (escape.py).
"""

from __future__ import annotations

import base64
from typing import Any, List, Sequence, Tuple

from .escape import esc, short
from .format import fmt_cost, fmt_time
from .html import FG2, badge, card, data_table, note
from .rich import Rich
from .tables import md_rows, md_table, text_table


class ChartRich(Rich):
    """A `Rich` that also offers its chart as `image/svg+xml`."""

    def __init__(self, html: str, markdown: str, plain: str, svg: str, metadata: Any = None) -> None:
        super().__init__(html, markdown, plain, metadata)
        self.svg = svg

    def bundle(self) -> dict:
        return {**super().bundle(), "image/svg+xml": self.svg}


class FrameRich(Rich):
    """An audit output that is also its entries as data: `to_pandas()` (the glue gives the frame)."""

    def __init__(self, view: Rich, frame: Any) -> None:
        super().__init__(view.html, view.markdown, view.plain, view.metadata)
        self._frame = frame

    def to_pandas(self) -> Any:
        """The entries shown, as a DataFrame with typed columns (`axonflow_notebook.audit_frame()`
        reads a whole period)."""
        return self._frame()


def _headline(data: Any) -> List[Tuple[str, str]]:
    decisions = ", ".join(f"{n} {word}" for word, n in data.decisions.most_common()) or "none"
    rows = [("period", data.period.label()),
            ("source", "AxonFlow's audit trail (and the journal's ungoverned calls)" if data.source == "server"
             else "this machine's audit journal"),
            ("calls", f"{data.calls}: {decisions}"),
            ("tokens", str(data.tokens)), ("cost", fmt_cost(data.cost))]
    if data.approval_seconds:
        waits = sorted(data.approval_seconds)
        rows.append(("approvals", f"{len(waits)}, median {waits[len(waits) // 2]:.0f} s, longest {waits[-1]:.0f} s"))
    if data.policy_versions:
        rows.append(("policy versions", ", ".join(v[:12] + "…" for v in data.policy_versions)))
    return rows


def _ungoverned_rows(data: Any) -> List[List[str]]:
    return [[fmt_time(r.timestamp), r.model or "—", r.notebook or r.script or "—", r.cell_id or "—", r.call_id or "—"]
            for r in data.ungoverned[:50]]


UNGOVERNED_HEADERS = ("time", "model", "notebook or script", "cell", "call id")


def report_view(report: Any) -> Rich:
    """The report: headline figures, the ungoverned calls in red, the charts, and any notes."""
    data = report.data
    headline = _headline(data)
    rows = _ungoverned_rows(data)
    image = base64.b64encode(report.svg.encode("utf-8")).decode("ascii")
    alt = (f"Charts: decisions over time, policies triggered most, approval waits, tokens and cost by model "
           f"and by user ({data.calls} calls)")
    parts = ['<table style="border:0;margin:2px 0">' + "".join(
        f'<tr><td style="color:{FG2};padding:1px 12px 1px 0;border:0;text-align:left">{esc(k)}</td>'
        f'<td style="padding:1px 0;border:0;text-align:left">{esc(v)}</td></tr>' for k, v in headline) + "</table>"]
    if rows:
        noun = "call" if len(data.ungoverned) == 1 else "calls"
        parts.append(f'<div class="axonflow-ungoverned" style="border:2px solid #c62828;border-radius:4px;'
                     f'padding:4px 8px;margin:6px 0;color:#c62828;font-weight:600">'
                     f"{esc(len(data.ungoverned))} {noun} ran ungoverned: AxonFlow could not be reached and "
                     f"fail-open let them through</div>"
                     + data_table(UNGOVERNED_HEADERS, [[esc(short(c, 80)) for c in r] for r in rows]))
    parts.append(f'<img class="axonflow-report-chart" alt="{esc(alt)}" style="max-width:100%;height:auto" '
                 f'src="data:image/svg+xml;base64,{image}">')
    parts += [note(n) for n in data.notes]
    badges = [badge(f"{len(data.ungoverned)} ungoverned", "bad")] if rows else []
    html = card("report", "AxonFlow governance report", "".join(parts), tone="bad" if rows else "info",
                badges=badges)
    markdown = "**AxonFlow governance report**\n\n" + md_rows(headline)
    plain = "AxonFlow governance report\n" + text_table(("", ""), headline)
    if rows:
        markdown += (f"\n\n**{len(data.ungoverned)} ran ungoverned (fail-open)**\n\n"
                     + md_table(UNGOVERNED_HEADERS, rows))
        plain += f"\n{len(data.ungoverned)} ran ungoverned (fail-open):\n" + text_table(UNGOVERNED_HEADERS, rows)
    for extra in data.notes:
        markdown += "\n\n" + md_rows([("note", extra)])
        plain += f"\nnote: {extra}"
    meta = {"axonflow": {"report_calls": data.calls, "ungoverned": len(data.ungoverned)}}
    return ChartRich(html, markdown, plain, report.svg, meta)


def verification_view(checked: Sequence[Any]) -> Rich:
    """One line per file checked: intact, or the first broken record and how."""
    intact = all(item.intact for item in checked)
    rows = [(item.kind, item.path, str(item.result)) for item in checked]
    html_rows = [[esc(kind), esc(path), badge("intact", "ok") if item.intact else badge("broken", "bad"),
                  esc(text)] for (kind, path, text), item in zip(rows, checked)]
    body = data_table(("what", "file", "", "result"), html_rows, widths=("11%", "30%", "9%", "50%"))
    title = "AxonFlow verification: intact" if intact else "AxonFlow verification: BROKEN"
    html = card("verify", title, body, tone="ok" if intact else "bad")
    return Rich(html, f"**{title}**\n\n" + md_table(("what", "file", "result"), rows),
                title + "\n" + "\n".join(item.line() for item in checked),
                {"axonflow": {"intact": intact}})


def export_view(result: Any) -> Rich:
    """Where the bundle went, what it holds, and whether the journal verified."""
    rows = [("bundle", str(result.path)), ("calls", str(result.calls)),
            ("chain records", str(result.chain_records)), ("journal", str(result.verification))]
    if result.agent_verification:
        rows.append(("agent store", result.agent_verification))
    tone = "ok" if result.intact else "bad"
    html = card("export", "AxonFlow evidence bundle written", "".join(
        f'<div><span style="color:{FG2}">{esc(k)}:</span> {esc(v)}</div>' for k, v in rows), tone=tone)
    return Rich(html, "**AxonFlow evidence bundle written**\n\n" + md_rows(rows),
                "AxonFlow evidence bundle written\n" + "\n".join(f"{k}: {v}" for k, v in rows))


__all__ = ["report_view", "verification_view", "export_view", "ChartRich", "FrameRich"]
