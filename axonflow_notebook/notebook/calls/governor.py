"""Governed stand-ins for `litellm.completion` / `litellm.acompletion` inside a `--code` cell.

Calls that come from the governance core itself (which calls LiteLLM once a request is allowed)
go straight through. A denial is raised in the user's code, where it can be caught, with the
user's frames only: the core's own frames stay out of the traceback.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import Any, Callable, Iterator, List, Optional

from IPython.core.error import UsageError

from .simulation import Simulation, decide_simulation, simulated_answer

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
                 simulation: Simulation, user_token: Optional[str]) -> None:
        self.logger = logger
        self.backend_label = backend_label
        self.cell_view = cell_view
        self.simulation = simulation
        self.user_token = user_token
        self.results: List[Any] = []

    def _prepare(self, model: Optional[str], messages: list, kwargs: dict) -> dict:
        if not model:
            raise TypeError("litellm completion needs a model")
        own_provider = any(k in kwargs for k in ("api_key", "api_base", "base_url", "mock_response"))
        simulated = False if own_provider else decide_simulation(model, self.simulation)
        view = self.cell_view.call_view(prompt=_preview(messages), model=model,
                                        backend=self.backend_label, simulated=simulated)
        call = dict(kwargs, model=model, messages=messages, on_event=view.handle)
        if simulated:
            call["mock_response"] = simulated_answer(model)
        if self.user_token and "user_token" not in call:
            call["user_token"] = self.user_token
        return call

    def _outcome(self, result: Any) -> Any:
        __tracebackhide__ = True
        self.results.append(result)
        if result.error is not None:
            # e.g. PolicyDeniedError, catchable in the user's code; raised afresh, so the
            # traceback is the user's, not the pipeline's that made it
            raise result.error.with_traceback(None) from None
        return result.response

    def completion(self, original: Callable) -> Callable:
        def completion(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            if _called_from_core():
                return original(*args, **kwargs)
            call = self._prepare(*_split_call(args, kwargs))
            return self._outcome(self.logger.govern(**call))

        completion.__wrapped__ = original  # type: ignore[attr-defined]
        return completion

    def acompletion(self, original: Callable) -> Callable:
        def acompletion(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            if _called_from_core():
                return original(*args, **kwargs)
            call = self._prepare(*_split_call(args, kwargs))

            async def governed() -> Any:
                __tracebackhide__ = True
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
