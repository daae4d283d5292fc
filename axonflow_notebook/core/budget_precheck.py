"""Budgets on the pre-check: AxonFlow's `budget_info`, its warning header, and its 402.

AxonFlow reports the budget covering a call on the pre-check answer (`budget_info`, and the
`X-Budget-Warning` header past a limit that lets calls through), and refuses a call over a
blocking budget with `402` and a pre-check-shaped body (the embedded agent does the same:
axonflow_notebook/agent/budgets/enforcement.py). The SDK (axonflow 9.5, client.py) raises its
`BudgetExceededError` on the 402, from the `httpx.HTTPStatusError` that holds the response,
but its `pre_check` drops `budget_info` and the headers of a normal answer.

So, without a second HTTP client: while a pre-check runs, a response hook on the SDK client's
own httpx client (httpx's public `event_hooks`) keeps the pre-check's response for this task
only (a context variable), and the answer's header and `budget_info` are read from it once the
SDK has read the body. The 402's body is read from the exception chain the SDK raised.
"""

from __future__ import annotations

import contextvars
import json
import logging
from typing import Any, Awaitable, Mapping, Optional

from .errors import BUDGET_POLICY, BudgetExceededError
from .events import BudgetChecked, DecisionMade

_log = logging.getLogger("axonflow_notebook.core")

PRE_CHECK_PATH = "/api/policy/pre-check"
WARNING_HEADER = "x-budget-warning"
_HOOKED = "_axonflow_notebook_pre_check_hook"
_SLOT: "contextvars.ContextVar[Optional[PreCheckCapture]]" = contextvars.ContextVar(
    "axonflow_pre_check_capture", default=None)


async def _keep_pre_check_response(response: Any) -> None:
    """httpx response hook: hand a pre-check's response to the capture of the task that sent it."""
    capture = _SLOT.get()
    if capture is not None and response.request.url.path.endswith(PRE_CHECK_PATH):
        capture.response = response


def _install_hook(client: Any) -> bool:
    """Add the hook to the SDK client's httpx client once; False for a client without one."""
    if getattr(client, _HOOKED, False):
        return True
    http = getattr(client, "_http_client", None)
    hooks = getattr(http, "event_hooks", None)
    if not isinstance(hooks, dict):
        return False
    responses = list(hooks.get("response", []))
    responses.append(_keep_pre_check_response)
    http.event_hooks = {**hooks, "response": responses}
    try:
        setattr(client, _HOOKED, True)
    except AttributeError:
        pass
    return True


class PreCheckCapture:
    """The raw answer of one pre-check (only for a call someone listens to)."""

    __slots__ = ("response", "hooked")

    def __init__(self, client: Any) -> None:
        self.response: Any = None
        self.hooked = _install_hook(client)

    async def run(self, pre_check: Awaitable[Any]) -> Any:
        token = _SLOT.set(self)
        try:
            return await pre_check
        finally:
            _SLOT.reset(token)

    def budget_info(self, verdict: Any) -> tuple[Optional[Mapping[str, Any]], Optional[str]]:
        """(`budget_info`, the warning header's text) of a normal answer."""
        info = getattr(verdict, "budget_info", None)  # an SDK that keeps it, or a test double
        warning = None
        response = self.response
        if response is not None:
            warning = response.headers.get(WARNING_HEADER)
            if info is None:
                info = _info_of(_body(response))
        if info is not None and not isinstance(info, Mapping):
            info = _as_mapping(info)
        return info, warning


def _body(response: Any) -> Optional[Mapping[str, Any]]:
    try:
        content = response.content  # read by the SDK already
    except Exception:
        return None
    if b'"budget_info"' not in content:
        return None
    try:
        body = json.loads(content)
    except ValueError:
        return None
    return body if isinstance(body, Mapping) else None


def _info_of(body: Optional[Mapping[str, Any]]) -> Optional[Mapping[str, Any]]:
    info = body.get("budget_info") if body else None
    return info if isinstance(info, Mapping) and info else None


def _as_mapping(info: Any) -> Optional[Mapping[str, Any]]:
    dump = getattr(info, "model_dump", None)
    return dump() if callable(dump) else None


def _float(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def budget_event(call_id: str, info: Mapping[str, Any], *, warning: Optional[str] = None,
                 blocked: bool = False) -> BudgetChecked:
    used, limit = _float(info.get("used_usd")), _float(info.get("limit_usd"))
    percentage = info.get("percentage")
    exceeded = bool(info.get("exceeded")) or (limit > 0 and used + 1e-9 >= limit)
    status = "blocked" if blocked else ("warning" if warning or exceeded else "within")
    return BudgetChecked(
        call_id,
        budget_id=str(info.get("budget_id") or ""),
        budget_name=str(info.get("budget_name") or info.get("budget_id") or ""),
        used_usd=used, limit_usd=limit,
        percentage=_float(percentage, used / limit * 100 if limit else 0.0),
        action=str(info.get("action") or ""), status=status,  # type: ignore[arg-type]
        period=info.get("period"), scope=info.get("scope"),
        period_start=info.get("period_start"), period_end=info.get("period_end"),
        warning=warning,
    )


def report_budget(emit: Any, capture: PreCheckCapture, verdict: Any) -> None:
    """Emit the `BudgetChecked` of a normal pre-check answer, when a budget covers the call."""
    try:
        info, warning = capture.budget_info(verdict)
    except Exception:  # a report must never fail the call it describes
        _log.debug("AxonFlow: unreadable budget_info", exc_info=True)
        return
    if info:
        emit(budget_event(emit.call_id, info, warning=warning))
    elif warning:
        emit(BudgetChecked(emit.call_id, budget_id="", budget_name="", used_usd=0.0, limit_usd=0.0,
                           percentage=0.0, action="warn", status="warning", warning=warning))


# ----- the 402 ---------------------------------------------------------------------------------

def budget_refusal(exc: BaseException) -> Optional[Mapping[str, Any]]:
    """The 402 body behind a refused pre-check (the guard's PlatformRejected), else None."""
    sdk_error = exc.__cause__
    if sdk_error is None or type(sdk_error).__name__ != "BudgetExceededError":
        return None
    response = getattr(sdk_error.__cause__, "response", None)
    body: Any = None
    if response is not None:
        try:
            body = response.json()
        except ValueError:
            body = None
    if not isinstance(body, Mapping):
        body = {"message": str(sdk_error)}
    info = dict(_info_of(body) or {})
    for name in ("budget_id", "budget_name", "used_usd", "limit_usd", "action"):
        if info.get(name) is None and getattr(sdk_error, name, None) is not None:
            info[name] = getattr(sdk_error, name)
    return {**body, "budget_info": info}


def refuse_over_budget(call: Any, body: Mapping[str, Any], *, latency_ms: float, backend: str) -> BudgetExceededError:
    """Report a 402 as a budget event and a blocked decision; the error the call raises."""
    info = body.get("budget_info") or {}
    reason = str(body.get("block_reason") or body.get("message") or "budget exceeded")
    context_id = body.get("context_id")
    call.policies = [str(p) for p in (body.get("policies") or [BUDGET_POLICY])]
    call.context_id = context_id
    emit = call.emit
    if emit.active:
        emit(budget_event(emit.call_id, info, blocked=True))
        emit(DecisionMade(emit.call_id, status="blocked", policies=tuple(call.policies), block_reason=reason,
                          context_id=context_id, latency_ms=latency_ms, backend=backend,
                          expires_at=body.get("expires_at")))
    return BudgetExceededError(
        budget_id=info.get("budget_id"), budget_name=info.get("budget_name"),
        limit_usd=_float(info.get("limit_usd")), used_usd=_float(info.get("used_usd")),
        period=info.get("period"), action=info.get("action") or "block",
        percentage=info.get("percentage"), scope=info.get("scope"), block_reason=reason,
        context_id=context_id,
    )


__all__ = ["PreCheckCapture", "report_budget", "budget_refusal", "refuse_over_budget", "budget_event",
           "PRE_CHECK_PATH", "WARNING_HEADER"]
