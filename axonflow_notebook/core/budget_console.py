"""Budgets and usage from the console: AxonFlow's cost controls as the project's records.

`BudgetMethods` is part of `GovernanceConsole` (review.py). Reads go through the SDK client's
own orchestrator request machinery (`_orchestrator_request`, axonflow/client.py: base URL,
credentials, transport), as the SDK's budget methods do, but keep the raw JSON, because the
SDK's `Budget` model drops what the embedded agent adds (`source`: the policy file that
declares a budget) and its usage methods take no filters. Writes use the SDK's own methods.
Creating, changing and deleting a budget takes a reviewer: on a real AxonFlow or an agent
with `--auth`, build the console from the reviewer's credentials.

`budget_standing(logger)` is what a batch asks before it starts (issues 13 and 16): which
blocking budget covering the logger's calls has the least left, and how much
(core/batch/axonflow_budget.py); `budget_headroom` is its dollar figure.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence

from .budget_records import budget_record, budget_status_record, usage_breakdown_record, usage_summary_record
from .records import BudgetCheckRecord, BudgetRecord, BudgetStatusRecord, UsageBreakdownRecord, UsageSummaryRecord

if TYPE_CHECKING:
    from .logger import AxonFlowLogger

BUDGETS_PATH = "/api/v1/budgets"
PAGE = 100  # the SDK's ListBudgetsOptions allows at most 100 a page
CHECK_FIELDS = ("org_id", "team_id", "agent_id", "workflow_id", "user_id")
# budget scope -> the BudgetCheckRequest field that carries a call's value for it
SCOPE_FIELDS = {"organization": "org_id", "team": "team_id", "agent": "agent_id", "workflow": "workflow_id",
                "user": "user_id"}


class BudgetRequestRefused(ValueError):
    """AxonFlow refused a budget or usage request; the message is its reason, on one line."""

    def __init__(self, status: Optional[int], message: str) -> None:
        self.status = status
        super().__init__(" ".join(message.split()))


def _refusal(exc: BaseException) -> Optional[BudgetRequestRefused]:
    """An SDK error (or the SDK model's validation error) as one line; None for anything else."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return BudgetRequestRefused(400, problems)
    response = getattr(exc.__cause__, "response", None)
    if response is None:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    message: Any = None
    if isinstance(body, Mapping):
        error = body.get("error")
        message = error.get("message") if isinstance(error, Mapping) else error
        message = body.get("error_description") or body.get("message") or message
    return BudgetRequestRefused(response.status_code, str(message or f"HTTP {response.status_code}"))


async def _refusing(awaitable: Any) -> Any:
    try:
        return await awaitable
    except Exception as exc:
        refusal = _refusal(exc)
        if refusal is None:
            raise
        raise refusal from None


def _query(path: str, params: Mapping[str, Any]) -> str:
    given = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urllib.parse.urlencode(given)}" if given else path


class BudgetMethods:
    """Budget and usage methods of `GovernanceConsole` (needs its `_client()`)."""

    async def _client(self) -> Any:  # provided by GovernanceConsole
        raise NotImplementedError

    async def _orchestrator(self, method: str, path: str, body: Optional[dict] = None) -> Any:
        client = await self._client()
        return await _refusing(client._orchestrator_request(method, path, json_data=body))

    # ----- reading --------------------------------------------------------------------------

    async def list_budgets(self, scope: Optional[str] = None) -> List[BudgetRecord]:
        """Every budget (all pages), with where each is declared (`source`)."""
        budgets: List[BudgetRecord] = []
        while True:
            page = await self._orchestrator("GET", _query(BUDGETS_PATH, {"scope": scope, "limit": PAGE,
                                                                         "offset": len(budgets)}))
            items = (page or {}).get("budgets") or []
            budgets.extend(budget_record(item) for item in items)
            if len(items) < PAGE:
                return budgets

    async def get_budget(self, budget_id: str) -> BudgetRecord:
        return budget_record(await self._orchestrator("GET", f"{BUDGETS_PATH}/{urllib.parse.quote(budget_id, safe='')}"))

    async def budget_status(self, budget_id: str, budget: Optional[BudgetRecord] = None) -> BudgetStatusRecord:
        path = f"{BUDGETS_PATH}/{urllib.parse.quote(budget_id, safe='')}/status"
        return budget_status_record(await self._orchestrator("GET", path), budget)

    async def budget_statuses(self, budgets: Optional[Sequence[BudgetRecord]] = None) -> List[BudgetStatusRecord]:
        """The status of every budget (or of `budgets`), asked concurrently."""
        if budgets is None:
            budgets = await self.list_budgets()
        return list(await asyncio.gather(*(self.budget_status(b.id, b) for b in budgets)))

    async def check_budget(self, **attribution: Optional[str]) -> BudgetCheckRecord:
        """AxonFlow's budget check for a call attributed so (org_id, team_id, agent_id,
        workflow_id, user_id), and the budgets that cover it."""
        from axonflow.types import BudgetCheckRequest

        unknown = sorted(set(attribution) - set(CHECK_FIELDS))
        if unknown:
            raise TypeError(f"check_budget: unknown field(s) {', '.join(unknown)}; one of {', '.join(CHECK_FIELDS)}")
        client = await self._client()
        decision = await _refusing(client.check_budget(BudgetCheckRequest(**attribution)))
        if decision.budgets is not None:
            covering = tuple(budget_record(b) for b in decision.budgets)
        else:  # an AxonFlow that does not list them: the same mapping, from the budgets in force
            covering = tuple(b for b in await self.list_budgets() if covers(b, attribution))
        return BudgetCheckRecord(bool(decision.allowed), decision.action, decision.message, covering)

    async def usage_summary(self, period: Optional[str] = None, **filters: Optional[str]) -> UsageSummaryRecord:
        """Spend over the current `period` (default monthly); filters: workflow_id, user_id, model…"""
        return usage_summary_record(await self._orchestrator("GET", _query("/api/v1/usage",
                                                                           {"period": period, **filters})))

    async def usage_breakdown(self, group_by: str, period: Optional[str] = None,
                              **filters: Optional[str]) -> UsageBreakdownRecord:
        """Spend grouped by provider, model, agent, team, user, workflow or organization."""
        path = _query("/api/v1/usage/breakdown", {"group_by": group_by, "period": period, **filters})
        return usage_breakdown_record(await self._orchestrator("GET", path))

    # ----- changing (a reviewer's) ------------------------------------------------------------

    async def create_budget(self, budget_id: str, *, name: str, scope: str, limit_usd: float, period: str,
                            on_exceed: str = "warn", scope_id: Optional[str] = None,
                            alert_thresholds: Sequence[int] = ()) -> BudgetRecord:
        from axonflow.types import CreateBudgetRequest

        async def create() -> Any:
            request = CreateBudgetRequest(id=budget_id, name=name, scope=scope, limit_usd=limit_usd, period=period,
                                          on_exceed=on_exceed, scope_id=scope_id,
                                          alert_thresholds=list(alert_thresholds))
            return await (await self._client()).create_budget(request)

        return budget_record(await _refusing(create()))

    async def update_budget(self, budget_id: str, *, name: Optional[str] = None, limit_usd: Optional[float] = None,
                            on_exceed: Optional[str] = None,
                            alert_thresholds: Optional[Sequence[int]] = None) -> BudgetRecord:
        """Change a budget's name, limit, action or thresholds (its scope and period are fixed)."""
        from axonflow.types import UpdateBudgetRequest

        async def update() -> Any:
            request = UpdateBudgetRequest(name=name, limit_usd=limit_usd, on_exceed=on_exceed,
                                          alert_thresholds=list(alert_thresholds) if alert_thresholds else None)
            return await (await self._client()).update_budget(budget_id, request)

        return budget_record(await _refusing(update()))

    async def delete_budget(self, budget_id: str) -> None:
        async def delete() -> None:
            await (await self._client()).delete_budget(budget_id)

        await _refusing(delete())


def covers(budget: BudgetRecord, attribution: Mapping[str, Optional[str]]) -> bool:
    """Whether `budget` counts a call so attributed (axonflow_notebook/agent/budgets/attribution.py)."""
    if not budget.enabled:
        return False
    value = attribution.get(SCOPE_FIELDS.get(budget.scope, ""))
    if budget.scope == "organization" and budget.scope_id is None:
        return True
    if not value:
        return False
    return budget.scope_id is None or budget.scope_id == value


def forecast_usd(status: BudgetStatusRecord, now: Optional[float] = None) -> Optional[float]:
    """Use at the end of the period if it goes on as it went so far (linear); None without a period.

    At least a minute of the period counts as elapsed, so a budget used in its first seconds
    does not forecast an absurd figure.
    """
    start, end = status.period_start, status.period_end
    if start is None or end is None:
        return None
    now = time.time() if now is None else now
    length = end.timestamp() - start.timestamp()
    elapsed = min(max(now - start.timestamp(), 60.0), length)
    if length <= 0:
        return None
    return status.used_usd * length / elapsed


def call_attribution(logger: "AxonFlowLogger", **overrides: Optional[str]) -> Dict[str, Optional[str]]:
    """What the logger's calls are charged to: its client id, and the context its pre-checks send."""
    from .call_origin import PreCheckContexts

    config = logger.config
    context = PreCheckContexts(config.pre_check_context()).for_call(config.default_user_token)
    found = {name: context.get(name) for name in CHECK_FIELDS}
    found["agent_id"] = config.client_id
    found.update({k: v for k, v in overrides.items() if v is not None})
    return found


@dataclass(frozen=True)
class BudgetHeadroom:
    """What the tightest blocking budget covering a logger's calls has left (`budget_standing`).

    `budget` is None only when AxonFlow's check refused the calls without naming a budget.
    """

    remaining_usd: float
    budget: Optional[BudgetRecord] = None
    used_usd: float = 0.0

    @property
    def label(self) -> str:
        """How a sentence names the budget: 'Team ML' (team-ml)."""
        if self.budget is None:
            return "a blocking budget"
        name, ident = self.budget.name or self.budget.id, self.budget.id
        return f"{name!r}" + (f" ({ident})" if ident and ident != name else "")


async def budget_standing(logger: "AxonFlowLogger", **attribution: Optional[str]) -> Optional[BudgetHeadroom]:
    """The blocking budget with the least left among those covering the logger's calls; None when none does.

    Calls are attributed as the logger's pre-checks send them (client id, workflow, user;
    `attribution` overrides any of org_id, team_id, agent_id, workflow_id, user_id).
    `remaining_usd` is 0.0 when a budget is used up. Raises when AxonFlow cannot answer:
    whether to go on without knowing is the caller's `fail_open`.
    """
    from .review import GovernanceConsole

    console = GovernanceConsole(logger)
    check = await console.check_budget(**call_attribution(logger, **attribution))
    blocking = [b for b in check.budgets if b.enabled and b.on_exceed == "block"]
    if not blocking:
        return None if check.allowed else BudgetHeadroom(0.0)
    statuses = await console.budget_statuses(blocking)
    tightest = min(statuses, key=lambda status: status.remaining_usd)
    left = 0.0 if not check.allowed else max(0.0, tightest.remaining_usd)
    return BudgetHeadroom(left, tightest.budget, tightest.used_usd)


async def budget_headroom(logger: "AxonFlowLogger", **attribution: Optional[str]) -> Optional[float]:
    """US dollars left before a blocking budget stops the logger's calls; None when none covers them.

    The smallest `remaining_usd` of the blocking budgets that cover a call of this logger
    (`budget_standing`, which also names the budget); 0.0 when one is used up. Raises when
    AxonFlow cannot answer.
    """
    standing = await budget_standing(logger, **attribution)
    return None if standing is None else standing.remaining_usd


__all__ = ["BudgetMethods", "BudgetRequestRefused", "BudgetHeadroom", "budget_headroom", "budget_standing",
           "call_attribution", "covers", "forecast_usd"]
