"""`%%governed --code`: run the cell as Python with every LiteLLM completion governed.

`litellm.completion` / `litellm.acompletion` are replaced for the duration of the cell and put
back in a `finally`, so a failing cell leaves LiteLLM as it found it. Calls that come from the
governance core itself (which calls LiteLLM once a request is allowed) go straight through.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import sys
import threading
from typing import Any, Callable, Iterator, List, Optional

from IPython.core.error import UsageError
from IPython.display import display

from .runner import decide_simulation, simulated_answer

_CORE = "axonflow_notebook.core"
_patch_lock = threading.Lock()


def _called_from_core(depth: int = 2) -> bool:
    frame = sys._getframe(depth)
    return frame.f_globals.get("__name__", "").startswith(_CORE)


def _split_call(args: tuple, kwargs: dict) -> tuple[Optional[str], list, dict]:
    kwargs = dict(kwargs)
    model = kwargs.pop("model", None)
    messages = kwargs.pop("messages", None)
    rest = list(args)
    if model is None and rest:
        model = rest.pop(0)
    if messages is None and rest:
        messages = rest.pop(0)
    if rest:
        raise TypeError("governed litellm calls take model and messages positionally, the rest by keyword")
    return model, list(messages or []), kwargs


def _preview(messages: list) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else str(content)
    return ""


class CodeGovernor:
    """Builds the governed replacements for LiteLLM's entry points, one view row per call."""

    def __init__(self, *, logger: Any, backend_label: str, cell_view: Any,
                 simulate: Optional[bool], setting: str, user_token: Optional[str]) -> None:
        self.logger = logger
        self.backend_label = backend_label
        self.cell_view = cell_view
        self.simulate = simulate
        self.setting = setting
        self.user_token = user_token
        self.results: List[Any] = []

    def _prepare(self, model: Optional[str], messages: list, kwargs: dict) -> tuple[Any, dict]:
        if not model:
            raise TypeError("litellm completion needs a model")
        own_provider = any(k in kwargs for k in ("api_key", "api_base", "base_url", "mock_response"))
        simulated = False if own_provider else decide_simulation(model, self.simulate, self.setting)
        view = self.cell_view.call_view(prompt=_preview(messages), model=model,
                                        backend=self.backend_label, simulated=simulated)
        call = dict(kwargs, model=model, messages=messages, on_event=view.handle)
        if simulated:
            call["mock_response"] = simulated_answer(model)
        if self.user_token and "user_token" not in call:
            call["user_token"] = self.user_token
        return view, call

    def _outcome(self, result: Any) -> Any:
        self.results.append(result)
        if result.error is not None:
            raise result.error  # e.g. PolicyDeniedError, catchable in the user's code
        return result.response

    def completion(self, original: Callable) -> Callable:
        def completion(*args: Any, **kwargs: Any) -> Any:
            if _called_from_core():
                return original(*args, **kwargs)
            _, call = self._prepare(*_split_call(args, kwargs))
            return self._outcome(self.logger.govern(**call))

        completion.__wrapped__ = original  # type: ignore[attr-defined]
        return completion

    def acompletion(self, original: Callable) -> Callable:
        def acompletion(*args: Any, **kwargs: Any) -> Any:
            if _called_from_core():
                return original(*args, **kwargs)
            _, call = self._prepare(*_split_call(args, kwargs))

            async def governed() -> Any:
                return self._outcome(await self.logger.agovern(**call))

            return governed()

        acompletion.__wrapped__ = original  # type: ignore[attr-defined]
        return acompletion


@contextlib.contextmanager
def litellm_governed(governor: CodeGovernor) -> Iterator[None]:
    """Patch litellm.completion/acompletion; always restore them."""
    import litellm

    if not _patch_lock.acquire(blocking=False):
        raise UsageError("another %%governed --code cell is already running in this kernel")
    original_c, original_ac = litellm.completion, litellm.acompletion
    try:
        litellm.completion = governor.completion(original_c)
        litellm.acompletion = governor.acompletion(original_ac)
        yield
    finally:
        litellm.completion, litellm.acompletion = original_c, original_ac
        _patch_lock.release()


def compile_cell(shell: Any, cell: str) -> Any:
    """Compile the cell like IPython would (magics transformed, top-level await allowed)."""
    source = shell.transform_cell(cell)
    filename = shell.compile.cache(source, shell.execution_count, raw_code=cell)
    flags = shell.compile.flags | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    return compile(source, filename, "exec", flags=flags, dont_inherit=True)


async def run_code_cell_async(shell: Any, code: Any) -> None:
    value = eval(code, shell.user_global_ns, shell.user_ns)
    if inspect.iscoroutine(value):
        await value


def run_code_cell_sync(shell: Any, code: Any) -> None:
    value = eval(code, shell.user_global_ns, shell.user_ns)
    if inspect.iscoroutine(value):
        value.close()
        raise UsageError("top-level await in %%governed --code needs a cell that can await "
                         "(IPython autoawait with asyncio)")


class CodeCell:
    """One `--code` cell: its compact view, the patch, and the results afterwards."""

    def __init__(self, magics: Any, opts: Any, cell: str, *, awaiting: bool) -> None:
        from .approvals import NotebookApprovals, clicks_unavailable_reason
        from .ui import CodeCellView

        self.magics = magics
        self.opts = opts
        self.code = compile_cell(magics.shell, cell)
        backend = magics.runtime.backend()
        # A sync litellm.completion blocks the kernel while it waits; only acompletion awaited
        # in an awaiting cell could receive clicks, so the row says where to approve instead.
        unavailable = clicks_unavailable_reason(awaiting=False, background=False, ipykernel=None)
        actions = NotebookApprovals(backend.approval_console(), magics.decider(backend), unavailable)
        self.view = CodeCellView(actions)
        self._display = display(self.view.widget, display_id=True)
        self.view.bind_display(self._display)
        self.governor = CodeGovernor(
            logger=backend.logger, backend_label=backend.label, cell_view=self.view, simulate=opts.simulate,
            setting=magics.simulate, user_token=opts.user_token or magics.effective_user_token(),
        )

    async def run_async(self) -> None:
        try:
            with litellm_governed(self.governor):
                await run_code_cell_async(self.magics.shell, self.code)
        finally:
            self._finish()

    def run_sync(self) -> None:
        try:
            with litellm_governed(self.governor):
                run_code_cell_sync(self.magics.shell, self.code)
        finally:
            self._finish()

    def _finish(self) -> None:
        results = self.governor.results
        summary = self.view.summary(results)
        if self._display is not None:
            self._display.update(summary)
        self.view.close()
        for result in results:
            self.magics.runtime.session.add(result)
        ns = self.magics.shell.user_ns
        ns["_governed"] = results
        if self.opts.out:
            ns[self.opts.out] = results
