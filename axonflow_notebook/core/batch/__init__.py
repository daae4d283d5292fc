"""Governed batches: many prompts through the same governed path as one call.

`AxonFlowLogger.amap` / `map` / `start_map` build a `BatchRun` (runner.py): rows governed one by
one through the pipeline, bounded and paced (flow.py), within spending limits (limits.py,
forecast.py; AxonFlow's own budgets: axonflow_budget.py), folded into a `BatchResult` (rows.py,
result.py), reported as batch events.
"""

from .axonflow_budget import AxonFlowBudget
from .errors import BatchInterrupted, RowCancelled, RowSkipped
from .forecast import BatchForecast
from .handle import BatchHandle
from .limits import ClientBudget, SpendingLimit, SpendLedger
from .result import BatchResult
from .rows import STATUSES, BatchRow
from .runner import BatchRun, request_context_of

__all__ = ["BatchRun", "BatchHandle", "BatchResult", "BatchRow", "STATUSES", "BatchForecast",
           "SpendingLimit", "SpendLedger", "ClientBudget", "AxonFlowBudget", "BatchInterrupted", "RowSkipped",
           "RowCancelled", "request_context_of"]
