"""`audit_frame`: the audit trail as a pandas DataFrame with typed columns, complete.

One row per governed call, oldest first, the same columns from AxonFlow's trail
(`source="server"`, every page of the audit search: server_trail.py) and from this machine's
journal (`source="local"`, which alone holds calls that ran ungoverned under fail-open):
`timestamp` (datetime64, UTC), `decision`, `policies` (a list per row), `model`, `provider`,
token counts (nullable integers), `cost_usd` and `latency_ms` (floats), `user`, `client_id`,
`policy_version`, `reviewer`, `approval_seconds`, the provenance (`notebook`, `script`,
`cell_id`, `execution_count`, `kernel_session`), ids, and `source`. trail.py defines them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterable, List, Mapping, Optional, Sequence, Union

from .periods import Period
from .trail import COLUMNS, TrailRow, from_audit, from_journal

if TYPE_CHECKING:
    import pandas as pd

    from ..core.records import AuditPage

INTEGERS = ("prompt_tokens", "completion_tokens", "total_tokens", "execution_count")
FLOATS = ("cost_usd", "latency_ms", "approval_seconds")
Filter = Union[None, str, Iterable[str]]


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError("the audit trail as a DataFrame needs pandas: "
                          "pip install 'axonflow-notebook[evidence]'") from None
    return pandas


def to_frame(rows: Sequence[TrailRow]) -> "pd.DataFrame":
    """Trail rows as a DataFrame with one dtype per column (whatever the values, even none)."""
    pd = _pandas()
    data = {name: [getattr(row, name) for row in rows] for name in COLUMNS}
    frame = pd.DataFrame({
        name: (pd.to_datetime(pd.Series(values, dtype=object), utc=True) if name == "timestamp"
               else pd.array(values, dtype="Int64") if name in INTEGERS
               else pd.array([float("nan") if v is None else float(v) for v in values], dtype="float64")
               if name in FLOATS
               else pd.array(values, dtype=bool) if name == "ungoverned"
               else pd.Series([list(v) for v in values], dtype=object) if name == "policies"
               else pd.array(values, dtype="string"))
        for name, values in data.items()
    })
    return frame.sort_values("timestamp", kind="stable", na_position="first").reset_index(drop=True)


def _wanted(value: Filter) -> Optional[set]:
    if value is None:
        return None
    return {value} if isinstance(value, str) else {str(v) for v in value}


def _keep(row: TrailRow, user: Optional[set], policy: Optional[set], decision: Optional[set],
          model: Optional[set]) -> bool:
    if user is not None and row.user not in user and row.client_id not in user:
        return False
    if policy is not None and not policy.intersection(row.policies):
        return False
    if decision is not None and row.decision not in decision:
        return False
    return model is None or row.model in model


def trail_rows(period: Period, source: str = "server", *, console: Any = None,
               journal: "str | os.PathLike[str] | None" = None) -> List[TrailRow]:
    """The trail of a period as rows (no pandas needed: the report and the export use these)."""
    if source == "local":
        from . import sources
        from .journal_read import journal_rows

        return [from_journal(row) for row in journal_rows(journal or sources.journal_path(), period)]
    if source != "server":
        raise ValueError(f"source must be 'server' or 'local', not {source!r}")
    from ..core.runtime import get_runtime
    from . import sources
    from .server_trail import fetch_approvals, fetch_entries

    close = lambda: None  # noqa: E731
    if console is None:
        console, close = sources.console()

    async def fetch() -> List[TrailRow]:
        entries = await fetch_entries(console, period)
        approvals = await fetch_approvals(console, entries)
        return [from_audit(e, approvals.get(e.id)) for e in entries]

    try:
        return get_runtime().run(fetch())
    finally:
        close()


def audit_frame(since: Any = None, until: Any = None, user: Filter = None, policy: Filter = None,
                decision: Filter = None, model: Filter = None, source: str = "server", *,
                console: Any = None, journal: "str | os.PathLike[str] | None" = None) -> "pd.DataFrame":
    """The audit trail as a DataFrame: every call of the period, complete, oldest first.

    `since` / `until`: a duration back from now (`"7d"`, `"12h"`), a date or datetime (UTC if
    naive). `user` (matches the user or the client id), `policy` (calls that matched it),
    `decision` (`allowed`, `blocked`, `redacted`, `approved`, `rejected`, `expired`,
    `needs_approval`; locally also `ungoverned`, `refused`, `failed`) and `model` take one value
    or several. `source="server"` reads AxonFlow's trail (in a notebook: the AxonFlow the magics
    use; `console=` another `GovernanceConsole`); `source="local"` this machine's journal
    (`journal=` another file).
    """
    _pandas()  # say what to install before fetching anything
    period = Period.of(since, until)
    rows = trail_rows(period, source, console=console, journal=journal)
    wanted = (_wanted(user), _wanted(policy), _wanted(decision), _wanted(model))
    return to_frame([row for row in rows if _keep(row, *wanted)])


def page_frame(page: "AuditPage") -> "pd.DataFrame":
    """The entries of one audit-search page (what `%axonflow audit` shows) as a DataFrame."""
    return to_frame([from_audit(entry) for entry in page.entries])


def journal_frame(rows: Sequence[Mapping[str, Any]]) -> "pd.DataFrame":
    """Journal rows (what `%axonflow audit --local` shows) as a DataFrame."""
    return to_frame([from_journal(row) for row in rows])


__all__ = ["audit_frame", "page_frame", "journal_frame", "to_frame", "trail_rows", "INTEGERS", "FLOATS"]
