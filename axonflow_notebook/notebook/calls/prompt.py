"""Run one governed prompt: show it, govern it, bind the result, stop the cell if it failed.

The same steps run three ways: awaited on the kernel's loop (the default in a notebook, so
Approve / Reject work in the waiting cell on ipykernel >= 7.4, and the first cell of a kernel
shows its card before LiteLLM and the backend are ready), blocking (terminal IPython, loops of
line magics), and as a task on the core's loop for `--background`. Every event is recorded into
the result as it arrives, so an interrupted call's result holds what its card showed.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from IPython.core.error import UsageError

from ...core.llm import ensure_litellm, litellm_module, litellm_ready, start_litellm_import
from ...core.result import GovernedResult
from .background import GovernedHandle
from .context import CallContext
from .presenters import open_presenter
from .simulation import decide_simulation, simulated_answer
from .stopped import GovernedCallInterrupted, GovernedCallStopped
from .sync import submit

INTERRUPTS = (asyncio.CancelledError, KeyboardInterrupt)


class PromptCall:
    """One prompt and its context; nothing happens until one of the `run_*` methods."""

    def __init__(self, ctx: CallContext, prompt: str) -> None:
        if not prompt.strip():
            raise UsageError("%%governed needs a prompt: write it in the cell body "
                             "(or after %governed on the same line).")
        self.ctx = ctx
        self.prompt = prompt
        self.result = GovernedResult()  # every event, recorded as it arrives
        self.presenter: Any = None
        self.handle: Optional[GovernedHandle] = None

    # -- the three ways to wait ---------------------------------------------------------------
    async def run_async(self) -> None:
        self._open(self._early_simulation())
        try:
            backend, simulated = await self._prepare_async()
        except BaseException as exc:
            raise self._not_sent(exc) from None
        try:
            result = await asyncio.wait_for(backend.logger.agovern(**self._request(simulated)),
                                            deadline_s(backend))
        except asyncio.TimeoutError:
            why = f"no result within {deadline_s(backend):g} s"
            self._stop(why, TimeoutError(why))
            raise GovernedCallStopped([f"TimeoutError: {why}"]) from None
        except INTERRUPTS as exc:
            raise self._interrupted(exc) from None
        return self._finish(result)

    def run_sync(self) -> None:
        try:
            litellm_module()
            backend = self.ctx.backend.backend()
            simulated = decide_simulation(self.ctx.model, self.ctx.simulation)
        except KeyboardInterrupt as exc:
            raise GovernedCallInterrupted.from_events(self.result, self._where(), exc) from None
        self._open(simulated, backend.label)
        try:
            result = backend.logger.govern(**self._request(simulated))
        except INTERRUPTS as exc:
            raise self._interrupted(exc) from None
        return self._finish(result)

    def run_background(self) -> GovernedHandle:
        self._open(self._early_simulation())
        handle = GovernedHandle(prompt_preview=self.prompt[:60], model=self.ctx.model,
                                deadline_s=600.0)
        self.handle = handle

        async def work() -> None:
            try:
                backend, simulated = await self._prepare_async()
                handle.deadline_s = deadline_s(backend)
                result = await backend.logger.agovern(**self._request(simulated))
            except asyncio.CancelledError as exc:
                self._stop("cancelled", exc)
                handle.set_result(self.result, cancelled=True)
                raise
            except BaseException as exc:  # the handle re-raises it where the user waits
                self.presenter.cancelled(f"failed: {type(exc).__name__}")
                handle.set_exception(exc)
                return
            self._finish(result, raise_error=False)
            handle.set_result(result)

        handle.attach(submit(work()))
        self.ctx.binding.bind_handle(handle)
        return handle

    # -- steps ---------------------------------------------------------------------------------
    def _early_simulation(self) -> bool:
        """Whether the answer will be simulated, if that is known before LiteLLM is loaded."""
        if self.ctx.simulation.forced:
            return True
        if litellm_ready():  # decided (and a --no-simulate problem raised) before anything shows
            return decide_simulation(self.ctx.model, self.ctx.simulation)
        return False

    def _open(self, simulated: bool, backend: Optional[str] = None) -> None:
        ctx = self.ctx
        self.presenter = open_presenter(
            ctx.view, prompt=self.prompt, model=ctx.model, backend=backend or ctx.backend_label,
            simulated=simulated, fmt=ctx.fmt, actions=ctx.approvals(),
            describe_policy=ctx.backend.describe_policy)

    async def _prepare_async(self) -> tuple:
        """LiteLLM and the backend, loaded side by side off the loop while the card says so
        (the first cell of a kernel: LiteLLM takes seconds, the local agent about one)."""
        source = self.ctx.backend
        starting = None
        if source.started_backend() is None:
            starting = asyncio.ensure_future(source.abackend())  # in a worker thread
        try:
            if not litellm_ready():
                start_litellm_import()
                self.presenter.starting("loading LiteLLM…")
                await ensure_litellm()
            if starting is not None and not starting.done():
                self.presenter.starting(source.starting_text())
            backend = await (starting if starting is not None else source.abackend())
        except BaseException:
            if starting is not None and not starting.done():
                starting.cancel()  # the thread finishes the start; the next call uses it
            elif starting is not None and not starting.cancelled():
                starting.exception()  # retrieved: what the user sees is the first problem
            raise
        return backend, decide_simulation(self.ctx.model, self.ctx.simulation)

    def _request(self, simulated: bool) -> dict:
        opts = self.ctx.request
        messages = []
        if opts.system:
            messages.append({"role": "system", "content": opts.system})
        messages.append({"role": "user", "content": self.prompt})
        kwargs: dict = {"model": self.ctx.model, "messages": messages, "on_event": self._on_event}
        token = self.ctx.token()
        if token:
            kwargs["user_token"] = token
        if simulated:
            kwargs["mock_response"] = simulated_answer(self.ctx.model)
        if opts.stream:
            kwargs["stream"] = True
        if opts.temperature is not None:
            kwargs["temperature"] = opts.temperature
        if opts.max_tokens is not None:
            kwargs["max_tokens"] = opts.max_tokens
        return kwargs

    def _on_event(self, event: Any) -> None:
        self.result.record(event)
        if self.handle is not None:
            self.handle.observe(event)
        self.presenter.handle(event)

    def _where(self) -> str:
        name = self.ctx.binding.name
        return f"{name} and _governed" if name else "_governed"

    def _not_sent(self, exc: BaseException) -> BaseException:
        """Preparing failed (a setting, the backend: the card says it was not sent) or was
        interrupted (cancelled, as any interrupted call, and bound)."""
        if isinstance(exc, INTERRUPTS):
            return self._interrupted(exc)
        self.presenter.abandon(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return exc

    def _interrupted(self, exc: BaseException) -> GovernedCallInterrupted:
        self._stop("interrupted", exc)
        return GovernedCallInterrupted.from_events(self.result, self._where(), exc)

    def _stop(self, why: str, exc: BaseException) -> None:
        """The wait ended without a result: the card says so, its static summary replaces it,
        and the result recorded so far is bound, so the saved notebook and the name agree."""
        self.presenter.cancelled(why)
        self.result.error = exc
        try:
            self._finish(self.result, raise_error=False)
        except Exception:
            pass

    def _finish(self, result: Any, *, raise_error: bool = True) -> None:
        self.presenter.finish(result)
        self.ctx.binding.bind(result)
        if raise_error and result.error is not None and not self.ctx.no_raise:
            raise GovernedCallStopped.from_result(result)
        return None


def deadline_s(backend: Any) -> float:
    """Outer bound on a whole call (approval wait, AxonFlow requests and the model's own time);
    the core enforces its own, finer deadlines inside it."""
    config = backend.logger.config
    return config.approval_max_wait_seconds + 4 * config.call_timeout_seconds + 120
