"""Drive one governed prompt cell: view, core call, wait, final summary, binding, errors.

The same steps run three ways: awaited on the kernel loop (the default, so Approve / Reject work
in the waiting cell on ipykernel >= 7.4), blocking through the core's sync bridge (when the cell
cannot await), and on a worker thread for `--background`.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import TYPE_CHECKING, Any, Optional

from IPython.core.error import UsageError
from IPython.display import display

from ..core.events import ApprovalProgress
from .approvals import NotebookApprovals, clicks_unavailable_reason
from .args import CallOptions
from .handle import GovernedHandle

if TYPE_CHECKING:
    from .magics import GovernedMagics


class GovernedCallStopped(Exception):
    """Stops a cell whose governed call did not go through, in one or two lines.

    IPython (and so ipykernel and nbclient) print `_render_traceback_()` instead of a traceback.
    The core's exception is kept as `.error` and on the result.
    """

    def __init__(self, lines: list[str], error: Optional[BaseException] = None, result: Any = None):
        super().__init__(" ".join(lines))
        self.lines = lines
        self.error = error
        self.result = result

    def _render_traceback_(self) -> list[str]:
        return list(self.lines)

    @classmethod
    def from_result(cls, result: Any) -> "GovernedCallStopped":
        err = result.error
        first = f"{type(err).__name__}: {_short(str(err) or 'the governed call did not go through')}"
        lines = [first]
        decision = result.decision
        if decision is not None and decision.policies and not any(p in first for p in decision.policies):
            detail = f"policy: {', '.join(decision.policies)}"
            if decision.block_reason and decision.block_reason not in first \
                    and decision.block_reason != "require_approval":
                detail += f" — {_short(decision.block_reason)}"
            lines.append(detail)
        return cls(lines, err, result)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- simulation -------------------------------------------------------------------------------
def missing_provider_keys(model: str) -> list[str]:
    """Env vars LiteLLM needs for `model` that are not set (empty: the provider is usable)."""
    import litellm

    try:
        check = litellm.validate_environment(model=model)
    except Exception:
        return []
    if check.get("keys_in_environment"):
        return []
    return list(check.get("missing_keys") or [])


def decide_simulation(model: str, requested: Optional[bool], setting: str) -> bool:
    """True when the answer must come from LiteLLM's mock_response."""
    if requested is True or (requested is None and setting == "always"):
        return True
    missing = missing_provider_keys(model)
    if not missing:
        return False
    if requested is False or setting == "never":
        names = " or ".join(missing)
        raise UsageError(
            f"No {names} in the environment for model {model!r}, and simulation is off. "
            f"Set it (e.g. %env {missing[0]}=...) or drop --no-simulate to get a simulated answer."
        )
    return True


def simulated_answer(model: str) -> str:
    return (
        f"(Simulated answer: no API key for {model}'s provider is set, so LiteLLM's mock_response "
        "stood in for the model. The AxonFlow policy check, approval and audit around it were real.)"
    )


# -- views ------------------------------------------------------------------------------------
def is_terminal(shell: Any) -> bool:
    return any(c.__name__ == "TerminalInteractiveShell" for c in type(shell).__mro__)


def ipykernel_version(shell: Any) -> Optional[tuple]:
    if getattr(shell, "kernel", None) is None:
        return None
    import ipykernel

    return tuple(int(p) for p in ipykernel.__version__.split(".")[:2] if p.isdigit())


class WidgetPresenter:
    """A live CallView displayed with a display_id, replaced by its static summary at the end."""

    def __init__(self, view: Any) -> None:
        self.view = view
        self._display = display(view.widget, display_id=True)
        view.bind_display(self._display)

    def handle(self, event: Any) -> None:
        self.view.handle(event)

    def cancelled(self, why: str) -> None:
        self.view.cancelled(why)

    def finish(self, result: Any) -> None:
        summary = self.view.summary(result)
        if self._display is not None:
            self._display.update(summary)
        else:
            display(summary)
        close = getattr(self.view, "close", None)
        if close is not None:  # stop its ticker; the static summary has replaced it
            close()


class TerminalPresenter:
    """Terminal IPython: one line per event, approval progress rewritten in place."""

    def __init__(self, *, model: str, simulated: bool, backend: str, view: Any = None) -> None:
        from .ui import render_event_text

        self._render = render_event_text
        self._in_place = False
        self._lock = threading.Lock()
        badge = " [simulated]" if simulated else ""
        print(f"AxonFlow: {model}{badge} via {backend}", flush=True)
        self.view = view

    def handle(self, event: Any) -> None:
        line = self._render(event)
        if not line:
            return
        with self._lock:
            if isinstance(event, ApprovalProgress):
                sys.stdout.write("\r\033[K" + line)
                self._in_place = True
            else:
                if self._in_place:
                    sys.stdout.write("\n")
                    self._in_place = False
                sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def cancelled(self, why: str) -> None:
        self.handle_line(f"cancelled: {why}")

    def handle_line(self, line: str) -> None:
        with self._lock:
            if self._in_place:
                sys.stdout.write("\n")
                self._in_place = False
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def finish(self, result: Any) -> None:
        if self._in_place:
            self.handle_line("")
        if self.view is not None:
            display(self.view.summary(result))


# -- one call ---------------------------------------------------------------------------------
class PromptCall:
    """Everything needed to run one prompt, prepared synchronously before any waiting."""

    def __init__(self, magics: "GovernedMagics", opts: CallOptions, prompt: str, *,
                 awaiting: bool) -> None:
        if not prompt.strip():
            raise UsageError("%%governed needs a prompt: write it in the cell body "
                             "(or after %governed on the same line).")
        self.magics = magics
        self.opts = opts
        self.prompt = prompt
        self.model = opts.model or magics.effective_model()
        self.simulated = decide_simulation(self.model, opts.simulate, magics.simulate)
        self.backend = magics.runtime.backend()
        unavailable = clicks_unavailable_reason(
            awaiting=awaiting, background=opts.background, ipykernel=ipykernel_version(magics.shell)
        )
        self.actions = NotebookApprovals(self.backend.approval_console(),
                                         magics.decider(self.backend), unavailable)
        self.presenter = self._open_presenter()
        self.handle: Optional[GovernedHandle] = None

    def _open_presenter(self) -> Any:
        from .ui import CallView

        shell = self.magics.shell
        if is_terminal(shell):
            view = CallView(prompt=self.prompt, model=self.model, backend=self.backend.label,
                            simulated=self.simulated, actions=None, fmt=self.opts.fmt)
            return TerminalPresenter(model=self.model, simulated=self.simulated,
                                     backend=self.backend.label, view=view)
        view = CallView(prompt=self.prompt, model=self.model, backend=self.backend.label,
                        simulated=self.simulated, actions=self.actions, fmt=self.opts.fmt)
        return WidgetPresenter(view)

    def request(self) -> dict:
        messages = []
        if self.opts.system:
            messages.append({"role": "system", "content": self.opts.system})
        messages.append({"role": "user", "content": self.prompt})
        kwargs: dict = {"model": self.model, "messages": messages, "on_event": self._on_event}
        token = self.opts.user_token or self.magics.effective_user_token()
        if token:
            kwargs["user_token"] = token
        if self.simulated:
            kwargs["mock_response"] = simulated_answer(self.model)
        if self.opts.stream:
            kwargs["stream"] = True
        if self.opts.temperature is not None:
            kwargs["temperature"] = self.opts.temperature
        if self.opts.max_tokens is not None:
            kwargs["max_tokens"] = self.opts.max_tokens
        return kwargs

    def _on_event(self, event: Any) -> None:
        if self.handle is not None:
            self.handle.observe(event)
        self.presenter.handle(event)

    @property
    def deadline_s(self) -> float:
        """Outer bound on the whole call (approval wait, AxonFlow requests and the model's own
        time); the core enforces its own, finer deadlines inside it."""
        m = self.magics
        return m.approval_max_wait_seconds + 4 * m.call_timeout_seconds + 120

    # -- the three ways to wait --------------------------------------------------------------
    async def run_async(self) -> Any:
        try:
            result = await asyncio.wait_for(
                self.backend.logger.agovern(**self.request()), self.deadline_s
            )
        except asyncio.TimeoutError:
            why = f"no result within {self.deadline_s:g} s"
            self.stop_waiting(why, TimeoutError(why))
            raise GovernedCallStopped([f"TimeoutError: {why}"]) from None
        except (asyncio.CancelledError, KeyboardInterrupt) as exc:
            self.stop_waiting("interrupted", exc)
            raise
        return self.finish(result)

    def run_sync(self) -> Any:
        try:
            result = self.backend.logger.govern(**self.request())
        except KeyboardInterrupt as exc:
            self.stop_waiting("interrupted", exc)
            raise
        return self.finish(result)

    def stop_waiting(self, why: str, exc: BaseException) -> None:
        """The wait ended without a result: the view says "cancelled" and a static summary
        replaces it, so the saved notebook says so too."""
        from ..core.result import GovernedResult

        self.presenter.cancelled(why)
        try:
            self.finish(GovernedResult(error=exc), raise_error=False)
        except Exception:
            pass

    def run_background(self) -> GovernedHandle:
        handle = GovernedHandle(prompt_preview=self.prompt[:60], model=self.model,
                                deadline_s=self.deadline_s)
        self.handle = handle
        request = self.request()

        def work() -> None:
            try:
                result = self.backend.logger.govern(**request)
                self.finish(result, raise_error=False)
            except BaseException as exc:  # the handle re-raises it where the user waits
                self.presenter.cancelled(f"failed: {type(exc).__name__}")
                handle.set_exception(exc)
                return
            handle.set_result(result)

        threading.Thread(target=work, name="axonflow-background-call", daemon=True).start()
        self.magics.shell.user_ns["_governed_handle"] = handle
        return handle

    def finish(self, result: Any, *, raise_error: bool = True) -> Any:
        self.presenter.finish(result)
        self.magics.runtime.session.add(result)
        ns = self.magics.shell.user_ns
        ns["_governed"] = result
        if self.opts.out:
            ns[self.opts.out] = result
        if raise_error and result.error is not None and not self.opts.no_raise:
            raise GovernedCallStopped.from_result(result)
        return None
