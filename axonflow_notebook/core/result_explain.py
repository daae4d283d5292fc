"""`GovernedResult.explain()`: AxonFlow's explanation of the decision a call got.

The call's own `DecisionMade` names the decision (its context id) and the AxonFlow that made it
(`backend`); the explanation is asked of that AxonFlow through a console of a live logger
governing there (or the console given). AxonFlow does not keep prompts by default, so the
prompt the pre-check judged, which the result holds, is added to the record: the spans of the
explanation index into it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Optional

from .records import DecisionExplanationRecord

if TYPE_CHECKING:
    from .result import GovernedResult


class NothingToExplain(LookupError):
    """The call has no AxonFlow decision (never sent, or governance was skipped)."""


def _why_not(result: "GovernedResult") -> str:
    from .events import CallFailed, GovernanceSkipped

    for event in result.events:
        if isinstance(event, GovernanceSkipped) and event.stage == "pre_check":
            return (f"AxonFlow did not decide this call: its pre-check was skipped ({event.reason}), so there is "
                    "no decision to explain")
        if isinstance(event, CallFailed) and event.stage == "pre_check":
            return f"AxonFlow did not decide this call: it stopped before the pre-check answered ({event.error_type})"
    return "this result holds no AxonFlow decision (the call was not governed, or not sent)"


def _console_for(endpoint: str) -> Any:
    from .logger import _LIVE_LOGGERS
    from .review import GovernanceConsole

    for logger in list(_LIVE_LOGGERS):
        if logger.config.endpoint == endpoint:
            return GovernanceConsole(logger)
    raise LookupError(f"no AxonFlowLogger for {endpoint} is open in this process: pass one, "
                      "result.explain(GovernanceConsole(logger))")


async def aexplain_result(result: "GovernedResult", console: Any = None) -> DecisionExplanationRecord:
    decision = result.decision
    if decision is None or not decision.context_id:
        raise NothingToExplain(_why_not(result))
    console = console if console is not None else _console_for(decision.backend)
    record = await console.explain(decision.context_id)
    query = getattr(decision, "query", "")
    if record.prompt is None and query:
        record = dataclasses.replace(record, prompt=query, prompt_source="result", prompt_chars=len(query))
    return record


def explain_result(result: "GovernedResult", console: Optional[Any] = None) -> DecisionExplanationRecord:
    from .runtime import get_runtime

    return get_runtime().run(aexplain_result(result, console))


__all__ = ["explain_result", "aexplain_result", "NothingToExplain"]
