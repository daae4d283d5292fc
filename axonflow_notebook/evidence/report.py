"""`build_report`: one screen on how governance went over a period, as data and one static SVG.

From AxonFlow's trail by default, plus the calls the local journal saw run ungoverned under
fail-open (AxonFlow never saw those); from the journal alone with `source="local"`, or when
AxonFlow cannot be reached (the report says so). The notebook draws it (`%axonflow report`,
axonflow_notebook/notebook/ui/report_view.py); a script can keep `report.svg`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, List

from .frame import trail_rows
from .periods import Period
from .report_stats import ReportData, summarise
from .trail import TrailRow

_log = logging.getLogger("axonflow_notebook.evidence")


@dataclass(frozen=True)
class Report:
    data: ReportData
    svg: str

    def save_svg(self, path: "str | os.PathLike[str]") -> None:
        from .private_write import write_private

        write_private(path, self.svg.encode("utf-8"))


def _ungoverned(period: Period, journal: Any) -> List[TrailRow]:
    try:
        return [row for row in trail_rows(period, "local", journal=journal) if row.ungoverned]
    except (FileNotFoundError, ValueError, RuntimeError):  # no journal here (or it is off)
        return []


def build_report(since: Any = "7d", until: Any = None, source: str = "server", *, console: Any = None,
                 journal: "str | os.PathLike[str] | None" = None) -> Report:
    """The report of the period (`since` / `until` as `audit_frame` takes them)."""
    from .report_plot import render_svg

    period = Period.of(since, until)
    notes: List[str] = []
    if source == "server":
        try:
            rows = trail_rows(period, "server", console=console) + _ungoverned(period, journal)
        except Exception as exc:  # AxonFlow unreachable or refusing: the journal still knows
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            _log.warning("report: AxonFlow's trail unavailable (%s); using the local journal", first)
            notes.append(f"AxonFlow's trail could not be read ({type(exc).__name__}: {first}); "
                         "this report is from the local journal")
            rows, source = trail_rows(period, "local", journal=journal), "local"
    else:
        rows = trail_rows(period, source, journal=journal)
    rows.sort(key=lambda row: (row.timestamp is None, row.timestamp))
    data = summarise(rows, period, source)
    data.notes.extend(notes)
    return Report(data, render_svg(data))


__all__ = ["Report", "build_report"]
