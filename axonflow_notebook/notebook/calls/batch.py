"""`%%governed --over DF`: the cell is a template, each row of DF one governed call of a batch.

The magic builds the call context as for one prompt; this renders the template over the frame's
rows (axonflow_notebook/pandas/template.py: plain column names only, every problem before any
call), runs the core's batch (`AxonFlowLogger.batch`, one governed call per row) with a live
batch view, and binds a new frame with the answer columns (`-o NAME` and `_governed`; the
`BatchResult` in `_governed_batch`). Awaited on the kernel's loop (clicks on the approval panel
arrive), blocking (terminal IPython), or in the background (`--background`: a handle at once).
An interrupt stops the batch, and what finished is bound all the same.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, List, Optional

from IPython.core.error import UsageError

from ...core.llm import ensure_litellm, litellm_module, litellm_ready
from .batch_approvals import BatchApprovals
from .batch_handle import BatchCellHandle
from .context import CallContext, ViewKind
from .presenters import CardPresenter
from .simulation import decide_simulation, simulated_answer
from .stopped import GovernedCallInterrupted
from .sync import submit

INTERRUPTS = (asyncio.CancelledError, KeyboardInterrupt)


@dataclass(frozen=True)
class BatchOptions:
    """What `--over` brought: the frame and its name, where answers go, flow control, budget."""

    frame: Any
    frame_name: str
    into: str = "answer"
    concurrency: int = 8
    rpm: Optional[float] = None
    tpm: Optional[float] = None
    budget: Optional[float] = None


def frame_from(namespace: Any, name: str) -> Any:
    """The DataFrame `--over` names; UsageError if there is none by that name."""
    if name not in namespace:
        raise UsageError(f"--over {name}: no variable {name!r} in this notebook")
    frame = namespace[name]
    if not (hasattr(frame, "columns") and hasattr(frame, "itertuples")):
        raise UsageError(f"--over {name}: needs a pandas DataFrame, got {type(frame).__name__}")
    return frame


class BatchCall:
    def __init__(self, ctx: CallContext, template: str, options: BatchOptions) -> None:
        from ...pandas.frame import check_into
        from ...pandas.template import RowTemplate, TemplateError

        try:
            parsed = RowTemplate(template)
            parsed.check(options.frame.columns)
            check_into(options.frame.columns, options.into)
        except (TemplateError, ValueError) as exc:
            raise UsageError(f"%%governed --over {options.frame_name}: {exc}") from None
        self.ctx = ctx
        self.options = options
        self.prompts: List[str] = parsed.render_frame(options.frame)
        if not self.prompts:
            raise UsageError(f"%%governed --over {options.frame_name}: the frame has no rows")
        self.presenter: Any = None
        self.run: Any = None
        self.handle: Optional[BatchCellHandle] = None

    # -- the three ways to wait ---------------------------------------------------------------
    async def run_async(self) -> None:
        self._open(self._early_simulation())
        try:
            if not litellm_ready():
                self.presenter.starting("loading LiteLLM…")
                await ensure_litellm()
            if self.ctx.backend.started_backend() is None:
                self.presenter.starting("connecting to AxonFlow…")
            backend = await self.ctx.backend.abackend()
            run = self._batch(backend)
        except BaseException as exc:
            raise self._not_sent(exc) from None
        try:
            result = await run.run()
        except INTERRUPTS as exc:
            raise self._interrupted(exc) from None
        except ValueError as exc:  # refused before the first call (a budget without a price)
            raise self._not_sent(exc) from None
        self._finish(result)

    def run_sync(self) -> None:
        from ...core.runtime import get_runtime

        try:
            litellm_module()
            backend = self.ctx.backend.backend()
        except KeyboardInterrupt:
            raise UsageError("interrupted before the batch started; nothing was sent") from None
        self._open(decide_simulation(self.ctx.model, self.ctx.simulation), backend.label)
        try:
            run = self._batch(backend)
            result = get_runtime().run_in_caller(run.run())
        except KeyboardInterrupt as exc:
            if self.run is not None:
                self.run.finished.wait(15)
            raise self._interrupted(exc) from None
        except ValueError as exc:
            raise self._not_sent(exc) from None
        self._finish(result)

    def run_background(self) -> BatchCellHandle:
        self._open(self._early_simulation())
        handle = BatchCellHandle(total=len(self.prompts), model=self.ctx.model)
        self.handle = handle

        async def work() -> None:
            try:
                await ensure_litellm()
                backend = await self.ctx.backend.abackend()
                run = self._batch(backend)
                handle.watch(run)
                result = await run.run()
            except asyncio.CancelledError:
                if self.run is not None:
                    handle.set_result(self._stop("cancelled"), self.run.result)
                else:
                    self.presenter.abandon("cancelled before it started")
                    handle.set_exception(asyncio.CancelledError())
                raise
            except BaseException as exc:  # the handle re-raises it where the user waits
                self.presenter.abandon(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                handle.set_exception(exc)
                return
            frame = self._finish(result)
            handle.set_result(frame, result)

        handle.attach(submit(work()))
        self.ctx.binding.bind_handle(handle)
        return handle

    # -- steps ---------------------------------------------------------------------------------
    def _early_simulation(self) -> bool:
        """Whether the answers will be simulated, if that is known before LiteLLM is loaded."""
        if self.ctx.simulation.forced:
            return True
        return decide_simulation(self.ctx.model, self.ctx.simulation) if litellm_ready() else False

    def _open(self, simulated: bool, backend: Optional[str] = None) -> None:
        from ..ui import BatchTerminal, BatchView

        ctx = self.ctx
        common = dict(total=len(self.prompts), model=ctx.model, backend=backend or ctx.backend_label,
                      simulated=simulated, preview=self._preview)
        if ctx.view is ViewKind.TERMINAL:
            self.presenter = BatchTerminal(**common)
            return
        where = ctx.binding.name or "_governed"
        view = BatchView(**common, actions=self._actions(), where=where)
        self.presenter = CardPresenter(view)

    def _actions(self) -> BatchApprovals:
        ctx = self.ctx

        def decider() -> Any:
            started = ctx.backend.started_backend()
            return ctx.decider.for_backend(started) if started is not None else None

        return BatchApprovals(lambda: ctx.backend.backend().approval_console(), decider, ctx.clicks_unavailable)

    def _preview(self, index: int) -> str:
        return self.prompts[index] if 0 <= index < len(self.prompts) else ""

    def _batch(self, backend: Any) -> Any:
        """The core's batch over the rendered prompts (not started)."""
        ctx, options, request = self.ctx, self.options, self.ctx.request
        simulated = decide_simulation(ctx.model, ctx.simulation)
        getattr(self.presenter, "view", self.presenter).set_simulated(simulated)
        items: List[Any] = self.prompts
        if request.system:
            items = [[{"role": "system", "content": request.system}, {"role": "user", "content": p}]
                     for p in self.prompts]
        kwargs: dict = {"on_event": self.presenter.handle, "rpm": options.rpm, "tpm": options.tpm,
                        "budget_usd": options.budget}
        token = ctx.token()
        if token:
            kwargs["user_token"] = token
        if simulated:
            kwargs["mock_response"] = simulated_answer(ctx.model)
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.max_tokens is not None:
            kwargs["max_tokens"] = request.max_tokens
        try:
            self.run = backend.logger.batch(items, model=ctx.model, concurrency=options.concurrency, **kwargs)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"%%governed --over {options.frame_name}: {exc}") from None
        return self.run

    def _frame(self, result: Any) -> Any:
        from ...pandas.frame import with_result

        return with_result(self.options.frame, result, self.options.into)

    def _bind(self, result: Any) -> Any:
        frame = self._frame(result)
        binding = self.ctx.binding
        for row in result.rows:  # `%axonflow audit` counts this kernel's calls
            binding.results.add(row)
        binding.namespace["_governed"] = frame
        binding.namespace["_governed_batch"] = result
        if binding.name:
            binding.namespace[binding.name] = frame
        return frame

    def _finish(self, result: Any) -> Any:
        frame = self._bind(result)
        self.presenter.finish(result)
        return frame

    def _stop(self, why: str) -> Any:
        """The batch stopped early: the view says so, and what finished is bound and summarised."""
        self.presenter.cancelled(why)
        try:
            return self._finish(self.run.result)
        except Exception:  # the summary is a courtesy; binding the rows matters more
            return self._bind(self.run.result)

    def _interrupted(self, exc: BaseException) -> GovernedCallInterrupted:
        if self.run is None:
            self.presenter.abandon("interrupted before the batch started; nothing was sent")
            return GovernedCallInterrupted(["Interrupted before the batch started; nothing was sent."], exc)
        self._stop("interrupted")
        result = self.run.result
        finished = sum(1 for row in result.rows if row.status != "cancelled")
        where = f"{self.ctx.binding.name} and _governed" if self.ctx.binding.name else "_governed"
        return GovernedCallInterrupted(
            [f"Interrupted: the batch stopped with {finished} of {len(result.rows)} rows done.",
             f"Nothing more will run for it; the rows so far are in {where} (the rest say cancelled)."],
            exc, result)

    def _not_sent(self, exc: BaseException) -> BaseException:
        if isinstance(exc, INTERRUPTS):
            return self._interrupted(exc)
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        self.presenter.abandon(text)
        return exc if isinstance(exc, UsageError) else UsageError(f"%%governed --over: {text}")


__all__ = ["BatchCall", "BatchOptions", "frame_from"]
