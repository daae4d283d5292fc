"""BatchRun: many items through the one governed path, bounded, paced and within budget.

Every row is a governed call exactly like `agovern`'s (the pipeline's `Governor.run`: pre-check,
approval, LLM, audit, journal), with its own call id. Around the rows, the run only decides
when each may start: a slot free (flow.py: `concurrency` LLM requests in flight, pre-checks
at most as many rows ahead), AxonFlow's `rate_limit` not used up, every spending limit
agreeing (limits.py). It reports through the typed batch events (events.py),
sent to the logger's subscribers and the run's own listener with every row's call events.

Cancelling the run (a kernel interrupt, `BatchHandle.cancel()`, Ctrl-C in `map`) stops
scheduling, cancels the rows in flight and waits for them to unwind: approval requests they
held are expired, an LLM call cut off is audited as cancelled (pipeline.py), audits of rows
that answered are delivered. The rows that never ran end `cancelled`, and `result` holds the
partial batch.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Sequence

from ..emitter import Emitter
from ..errors import BudgetExceededError
from ..events import (
    BatchFinished,
    BatchPaused,
    BatchStarted,
    CompletionFinished,
    DecisionMade,
    GovernanceSkipped,
    RowFinished,
    RowStarted,
)
from ..providers import text_of
from .axonflow_budget import AxonFlowBudget
from .errors import RowCancelled, RowSkipped
from .flow import Pace, RowPacing, Slots, pause_left
from .forecast import BatchForecast, forecast
from .items import all_messages
from .limits import ClientBudget, SpendingLimit, SpendLedger
from .result import BatchResult
from .rows import PENDING, RUNNING, STATUSES, BatchRow, status_of

if TYPE_CHECKING:
    from ..logger import AxonFlowLogger

DEFAULT_NUM_RETRIES = 2  # LiteLLM's own retries of 429s and transient errors, per row
UNWIND_SECONDS = 10.0


class BatchRun:
    """One batch; `await run.run()` once. `result` is live while it runs (rows fill in)."""

    def __init__(self, logger: "AxonFlowLogger", items: Iterable[Any], *, model: str, concurrency: int = 8,
                 user_token: Optional[str] = None, on_event: Optional[Callable[[Any], None]] = None,
                 rpm: Optional[float] = None, tpm: Optional[float] = None, budget_usd: Optional[float] = None,
                 limits: Sequence[SpendingLimit] = (), completion_tokens_estimate: Optional[int] = None,
                 **kwargs: Any) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ValueError("a batch needs model= (a LiteLLM model name)")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be an integer >= 1, got {concurrency!r}")
        for name, rate in (("rpm", rpm), ("tpm", tpm)):
            if rate is not None and not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
                raise ValueError(f"{name} must be a number > 0, got {rate!r}")
        if kwargs.get("stream"):
            raise ValueError("stream=True is not supported in a batch (each row's answer arrives whole)")
        for name in ("messages", "on_event"):
            if name in kwargs:
                raise TypeError(f"a batch takes its messages from its items; unexpected {name}=")
        self.messages = all_messages(items)
        self.model = model
        self.concurrency = concurrency
        self.rpm, self.tpm = rpm, tpm
        self.limits: List[SpendingLimit] = list(limits)
        if budget_usd is not None:
            self.limits.append(ClientBudget(budget_usd))
        # AxonFlow's own budgets, whenever it has one covering these calls (inactive otherwise)
        self.axonflow_budget = next((limit for limit in self.limits if isinstance(limit, AxonFlowBudget)), None)
        if self.axonflow_budget is None:
            self.axonflow_budget = AxonFlowBudget(logger, user_token=user_token)
            self.limits.append(self.axonflow_budget)
        self.completion_tokens_estimate = completion_tokens_estimate
        kwargs.setdefault("num_retries", DEFAULT_NUM_RETRIES)
        self._kwargs = kwargs
        self._user_token = user_token
        self._governor = logger._governor
        self._listeners = tuple(logger._listeners) + ((on_event,) if on_event is not None else ())
        self.batch_id = uuid.uuid4().hex[:16]
        self.result = BatchResult(self.batch_id, model, [BatchRow(i) for i in range(len(self.messages))],
                                  budget_usd=budget_usd)
        self.ledger = SpendLedger()
        self._emit = Emitter(self.batch_id, self._listeners)
        # AxonFlow's `rate_limit`: pre-checks this batch may still send before `_reset_at`
        # (None: no limit heard), and its pre-checks sent but not answered yet.
        self._allowance: Optional[int] = None
        self._reset_at = 0.0
        self._unanswered = 0
        self._started = False
        self._refused_by_axonflow: Optional[str] = None  # a row's pre-check answered 402: why
        self.finished = threading.Event()  # set once every row has ended (whatever happened)
        self.error: Optional[BaseException] = None  # why the run failed, when it did not just cancel

    # ----- the run ---------------------------------------------------------

    async def run(self) -> BatchResult:
        if self._started:
            raise RuntimeError("a BatchRun runs once")
        self._started = True
        started = time.perf_counter()
        tasks: "set[asyncio.Task[None]]" = set()
        try:
            plan = await forecast(self.model, self.messages, self._kwargs,
                                  estimate=self.completion_tokens_estimate, need_tokens=self.tpm is not None)
            for limit in self.limits:
                await limit.prepare(plan)
            self.result.forecast_usd, self.result.forecast_basis = plan.total_usd, plan.basis
            axonflow = self.axonflow_budget
            self.result.meta["axonflow_budget"] = axonflow.describe()
            self._emit(BatchStarted(self.batch_id, total=len(self.messages), model=self.model,
                                    concurrency=self.concurrency, forecast_usd=plan.total_usd,
                                    forecast_basis=plan.basis, budget_usd=self.result.budget_usd,
                                    rpm=self.rpm, tpm=self.tpm, axonflow_headroom_usd=axonflow.limit_usd,
                                    axonflow_budget=axonflow.describe()))
            await self._schedule(plan, tasks)
            while tasks:
                await asyncio.wait(set(tasks))
        except BaseException as exc:
            interrupted = isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt))
            if not interrupted:
                self.error = exc
            for task in tasks:
                task.cancel()
            await _unwind(tasks)
            self.result.stopped = self.result.stopped or ("cancelled" if interrupted else "failed")
            why = "the batch was cancelled before this row ran" if interrupted else \
                f"the batch stopped before this row ran: {type(exc).__name__}: {exc}"
            self._close_unstarted("cancelled", RowCancelled(why), (PENDING, RUNNING))
            raise
        finally:
            self.result.elapsed_s = time.perf_counter() - started
            self._finish()
        return self.result

    def abandon(self) -> None:
        """The run was cancelled before it could start: every row ends `cancelled`."""
        if not self._started and not self.finished.is_set():
            self._started = True
            self.result.stopped = "cancelled"
            self._close_unstarted("cancelled", RowCancelled("the batch was cancelled before it started"))
            self._finish()

    async def _schedule(self, plan: BatchForecast, tasks: "set[asyncio.Task[None]]") -> None:
        loop = asyncio.get_running_loop()
        admission, llm_slots = Slots(self.concurrency), Slots(self.concurrency)
        rpm = Pace(self.rpm) if self.rpm else None
        tpm = Pace(self.tpm) if self.tpm else None
        for index in range(len(self.messages)):
            await self._respect_axonflow_pause()
            await admission.acquire()
            next_usd = plan.row_usd(index) or 0.0
            refusal = self._refused_by_axonflow or next(
                (why for why in (limit.refuses(self.ledger, next_usd) for limit in self.limits) if why), None)
            if refusal:
                admission.release()
                self._stop_for_budget(refusal)
                return
            paces = tuple(p for p in ((rpm, 1.0), (tpm, float(plan.row_tokens(index)))) if p[0] is not None)
            pacing = RowPacing(admission, llm_slots, paces)  # type: ignore[arg-type]
            self.ledger.start(next_usd)
            self.result.rows[index].status = RUNNING
            self._pre_check_sent()
            task = loop.create_task(self._row(index, pacing, next_usd))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def _row(self, index: int, pacing: RowPacing, forecast_usd: float) -> None:
        row = self.result.rows[index]
        row.call_id = uuid.uuid4().hex[:16]
        settled = answered = False

        def pre_check_answered(limit: Any = None) -> None:
            nonlocal answered
            if not answered:
                answered = True
                self._pre_check_answered(limit)

        def observe(event: Any) -> None:
            nonlocal settled
            row.observe(event)
            if isinstance(event, CompletionFinished):  # the model answered: free its slot now
                pacing.release()
                self.ledger.settle(forecast_usd, event.cost_usd)
                settled = True
            elif isinstance(event, DecisionMade):
                pre_check_answered(event.rate_limit)
            elif isinstance(event, GovernanceSkipped) and event.stage == "pre_check":
                pre_check_answered()

        emit = Emitter(row.call_id, (observe, *self._listeners))
        emit(RowStarted(row.call_id, batch_id=self.batch_id, index=index))
        kwargs = dict(self._kwargs, model=self.model, messages=[dict(m) for m in self.messages[index]])
        context = {"batch_id": self.batch_id, "batch_index": index, "batch_size": len(self.messages)}
        started = time.perf_counter()
        error: Optional[BaseException] = None
        try:
            response = await self._governor.run(kwargs, self._user_token, emit, request_context=context,
                                                pacing=pacing)
            row.response = response
            row.text = text_of(response) if response is not None else row.text
        except asyncio.CancelledError:
            error = RowCancelled("the batch was cancelled while this row was under way")
            raise
        except Exception as exc:
            error = exc
            if isinstance(exc, BudgetExceededError) and self._refused_by_axonflow is None:
                # spent elsewhere since the batch started: no row after this one would pass
                self._refused_by_axonflow = f"AxonFlow refused row {index} (402): {exc}"
        finally:
            pacing.release()
            pre_check_answered()
            if not settled:
                self.ledger.settle(forecast_usd, None)
            row.latency_s = time.perf_counter() - started
            row.error = error
            row.status = "cancelled" if isinstance(error, RowCancelled) else status_of(row, error)
            emit(self._row_finished(row))

    # ----- stopping ----------------------------------------------------------

    def _pre_check_sent(self) -> None:
        self._unanswered += 1
        if self._allowance is not None:
            self._allowance -= 1

    def _pre_check_answered(self, limit: Any) -> None:
        """One pre-check answered; with a `rate_limit`, what is left of it for rows not yet sent."""
        self._unanswered -= 1
        if limit is not None:
            self._allowance = limit.remaining - self._unanswered
            self._reset_at = limit.reset_at

    async def _respect_axonflow_pause(self) -> None:
        """Send no pre-check AxonFlow said it would refuse: wait for its window to reset."""
        if self._allowance is None or self._allowance > 0:
            return
        wait = pause_left(self._reset_at)
        if wait > 0:
            self._emit(BatchPaused(self.batch_id, reason="axonflow_rate_limit", until=self._reset_at,
                                   detail=f"AxonFlow's rate limit is used up; new rows wait {wait:.1f} s "
                                          "for it to reset"))
            await asyncio.sleep(wait)
        self._allowance = None  # a new window: the next answer says how much of it is left

    def _stop_for_budget(self, refusal: str) -> None:
        self.result.stopped, self.result.stop_detail = "budget", refusal
        self._emit(BatchPaused(self.batch_id, reason="budget", detail=refusal))
        self._close_unstarted("skipped_budget", RowSkipped(f"not sent: {refusal}"))

    def _close_unstarted(self, status: str, error: BaseException, unfinished: tuple = (PENDING,)) -> None:
        for row in self.result.rows:
            if row.status in unfinished:
                row.status, row.error = status, error
                self._emit(self._row_finished(row))

    def _row_finished(self, row: BatchRow) -> RowFinished:
        return RowFinished(row.call_id, batch_id=self.batch_id, index=row.index, status=row.status,
                           policies=row.policies, cost_usd=row.cost, audit_id=row.audit_id,
                           request_id=row.request_id, ungoverned=row.ungoverned, preview=row.preview(),
                           latency_s=row.latency_s)

    def _finish(self) -> None:
        if self.finished.is_set():
            return
        counts = self.result.counts
        self._emit(BatchFinished(self.batch_id, total=len(self.result.rows),
                                 counts=tuple((s, counts[s]) for s in STATUSES if s in counts),
                                 spent_usd=self.result.spent_usd, elapsed_s=self.result.elapsed_s,
                                 stopped=self.result.stopped))
        self.finished.set()


async def _unwind(tasks: "set[asyncio.Task[None]]") -> None:
    """Wait (bounded) for cancelled rows to unwind, even if we are cancelled again meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + UNWIND_SECONDS
    pending = {task for task in tasks if not task.done()}
    while pending and loop.time() < deadline:
        try:
            _, pending = await asyncio.wait(pending, timeout=deadline - loop.time())
        except asyncio.CancelledError:
            continue


def request_context_of(record_context: Dict[str, Any]) -> Optional[tuple]:
    """(batch id, row index, batch size) from a HITL request's `request_context`, if a batch row's."""
    batch_id = record_context.get("batch_id") if isinstance(record_context, dict) else None
    if not isinstance(batch_id, str) or not batch_id:
        return None
    return batch_id, record_context.get("batch_index"), record_context.get("batch_size")


__all__ = ["BatchRun", "DEFAULT_NUM_RETRIES", "request_context_of"]
