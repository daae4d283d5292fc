"""`%axonflow report`, `%axonflow verify`, `%axonflow export`, and `to_pandas()` on audit outputs.

Thin calls into the evidence package (axonflow_notebook/evidence/), which reads the AxonFlow and
the journal this kernel uses (registered by evidence_hooks.py); what they show comes from the UI
package. subcommands.py adds `EVIDENCE` to its table, so this module imports nothing of it.
"""

from __future__ import annotations

from typing import Any, Callable, List, Tuple

from IPython.core.error import UsageError

Argument = Tuple[tuple, dict]


def _arg(*args: Any, **kwargs: Any) -> Argument:
    return args, kwargs


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _user_errors() -> tuple:
    from ..evidence.periods import PeriodError
    from ..evidence.sources import NoSource

    return (PeriodError, NoSource, FileNotFoundError, ImportError, ValueError)


def report(magics: Any, args: Any) -> Any:
    from ..evidence.report import build_report
    from .ui import report_view

    try:
        built = build_report(args.since, args.until, "local" if args.local else "server")
    except _user_errors() as exc:
        raise UsageError(f"%axonflow report: {_one_line(exc)}") from None
    if args.save:
        built.save_svg(args.save)
    return report_view(built)


def verify(magics: Any, args: Any) -> Any:
    from ..evidence.verify import NotEvidence, verify_defaults, verify_path
    from .ui import verification_view

    try:
        if args.path:
            checked = [verify_path(args.path)]
        else:
            journal = magics.runtime.journal()
            checked = verify_defaults(magics.effective_data_dir(),
                                      journal=journal.path if journal is not None else None)
    except (NotEvidence, *_user_errors()) as exc:
        raise UsageError(f"%axonflow verify: {_one_line(exc)}") from None
    return verification_view(checked)


def export(magics: Any, args: Any) -> Any:
    from ..evidence.export import export_bundle
    from .ui import export_view

    try:
        result = export_bundle(args.out, args.since, args.until)
    except (OSError, *_user_errors()) as exc:
        raise UsageError(f"%axonflow export: {_one_line(exc)}") from None
    return export_view(result)


_PERIOD = (_arg("--since", default=None, metavar="WHEN",
                help="start: a duration back from now (7d, 12h) or a date/time (2026-01-31)"),
           _arg("--until", default=None, metavar="WHEN", help="end, as --since (default: now)"))

# (name, summary, run, arguments) for subcommands.py's table
EVIDENCE: List[Tuple[str, str, Callable[[Any, Any], Any], Tuple[Argument, ...]]] = [
    ("report", "a report of the period: decisions over time, policies, cost, approvals, ungoverned calls",
     report, (_arg("--since", default="7d", metavar="WHEN",
                   help="start: a duration back from now (default 7d) or a date/time (2026-01-31)"),
              _PERIOD[1],
              _arg("--local", action="store_true", help="from this machine's journal only (not AxonFlow's trail)"),
              _arg("--save", default=None, metavar="FILE.svg", help="also write the charts to this SVG file"))),
    ("verify", "is the journal (or PATH: a journal, agent store or bundle) intact? (tamper evidence)",
     verify, (_arg("path", nargs="?", metavar="PATH", help="default: this kernel's journal and the agent store"),)),
    ("export", "an evidence bundle of the period for an auditor (zip: records, policies, chain, summary)",
     export, (*_PERIOD, _arg("--out", default=None, metavar="FILE.zip",
                             help="where to write it (default: axonflow-evidence-<time>.zip here)"))),
]


def with_frame(view: Any, frame: Callable[[], Any]) -> Any:
    """An audit output that is also its entries as data: `.to_pandas()`."""
    from .ui import FrameRich

    return FrameRich(view, frame)


def audit_frame_of(page: Any) -> Callable[[], Any]:
    def frame() -> Any:
        from ..evidence.frame import page_frame

        return page_frame(page)

    return frame


def journal_frame_of(rows: Any) -> Callable[[], Any]:
    def frame() -> Any:
        from ..evidence.frame import journal_frame

        return journal_frame(rows)

    return frame


__all__ = ["EVIDENCE", "with_frame", "audit_frame_of", "journal_frame_of"]
