"""`%%governed --code`: run the cell as Python with every LiteLLM completion governed.

`litellm.completion` / `litellm.acompletion` are replaced for the duration of the cell and put
back in a `finally`, so a failing cell leaves LiteLLM as it found it (see governor.py). The cell
runs as IPython would run it: its last expression is the cell's value (`df.tail(3)` shows, a
trailing `;` hides it), and an exception that escapes it shows the user's own frames only.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
from dataclasses import dataclass
from typing import Any, Optional

from IPython.core.displayhook import DisplayHook
from IPython.core.error import UsageError
from IPython.display import display

from ...core.llm import ensure_litellm, litellm_module, litellm_ready
from .context import CallContext
from .governor import CodeGovernor, litellm_governed
from .stopped import GovernedCallInterrupted

_FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
INTERRUPTS = (asyncio.CancelledError, KeyboardInterrupt)


@dataclass(frozen=True)
class CompiledCell:
    filename: str
    body: Any  # code object of every statement but a final expression
    last: Optional[Any]  # code object ("eval") of the final expression, if any
    quiet: bool  # the cell ends with ';'


def compile_cell(shell: Any, cell: str) -> CompiledCell:
    """Compile the cell like IPython would (magics transformed, top-level await allowed)."""
    source = shell.transform_cell(cell)
    filename = shell.compile.cache(source, shell.execution_count, raw_code=cell)
    tree = ast.parse(source, filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    flags = shell.compile.flags | _FLAGS
    body = compile(tree, filename, "exec", flags=flags, dont_inherit=True)
    last_code = compile(last, filename, "eval", flags=flags, dont_inherit=True) if last else None
    return CompiledCell(filename, body, last_code, DisplayHook.semicolon_at_end_of_expression(source))


class CodeCell:
    """One `--code` cell: its compact view, the patch, and the results afterwards."""

    def __init__(self, ctx: CallContext, shell: Any, cell: str) -> None:
        if not cell.strip():
            raise UsageError("%%governed --code needs Python code in the cell body")
        self.ctx = ctx
        self.shell = shell
        self.code = compile_cell(shell, cell)
        self.view: Any = None
        self._display: Any = None
        self.governor: Optional[CodeGovernor] = None

    def _open(self) -> None:
        from ..ui import CodeCellView

        self.view = CodeCellView(self.ctx.approvals(), describe_policy=self.ctx.backend.describe_policy)
        self._display = display(self.view.widget, display_id=True)
        self.view.bind_display(self._display)  # the view keeps the display's static fallback current

    def _governor(self, backend: Any) -> CodeGovernor:
        ctx = self.ctx
        self.governor = CodeGovernor(logger=backend.logger, backend_label=backend.label,
                                     cell_view=self.view, simulation=ctx.simulation,
                                     user_token=ctx.token())
        return self.governor

    async def run_async(self) -> Any:
        __tracebackhide__ = True
        self._open()
        try:
            if not litellm_ready():
                await ensure_litellm()
            backend = await self.ctx.backend.abackend()
        except BaseException as exc:
            self._finish()
            if isinstance(exc, INTERRUPTS):
                raise interrupted(exc) from None
            raise
        try:
            with litellm_governed(self._governor(backend)):
                value = await self._run()
        except INTERRUPTS as exc:
            raise interrupted(exc) from None
        finally:
            self._finish()
        return value

    def run_sync(self) -> Any:
        __tracebackhide__ = True
        litellm_module()
        backend = self.ctx.backend.backend()
        self._open()
        try:
            with litellm_governed(self._governor(backend)):
                value = self._run_sync()
        except INTERRUPTS as exc:
            raise interrupted(exc) from None
        finally:
            self._finish()
        return value

    async def _run(self) -> Any:
        __tracebackhide__ = True
        code, ns = self.code, self.shell.user_ns
        try:
            outcome = eval(code.body, self.shell.user_global_ns, ns)
            if inspect.iscoroutine(outcome):
                await outcome
            if code.last is None:
                return None
            value = eval(code.last, self.shell.user_global_ns, ns)
            if inspect.iscoroutine(value):
                value = await value
        except Exception as exc:
            raise user_frames_only(self.shell, exc, code.filename)
        return None if code.quiet else value

    def _run_sync(self) -> Any:
        __tracebackhide__ = True
        code, ns = self.code, self.shell.user_ns
        try:
            outcome = eval(code.body, self.shell.user_global_ns, ns)
            if inspect.iscoroutine(outcome):
                outcome.close()
                raise UsageError("top-level await in %%governed --code needs a cell that can await "
                                 "(IPython autoawait with asyncio)")
            value = eval(code.last, self.shell.user_global_ns, ns) if code.last else None
            if inspect.iscoroutine(value):
                value.close()
                raise UsageError("top-level await in %%governed --code needs a cell that can "
                                 "await (IPython autoawait with asyncio)")
        except UsageError:
            raise
        except Exception as exc:
            raise user_frames_only(self.shell, exc, code.filename)
        return None if code.quiet else value

    def _finish(self) -> None:
        results = list(self.governor.results) if self.governor is not None else []
        if self.view is not None:
            self._display.update(self.view.summary(results))
            self.view.close()
        self.ctx.binding.bind(results)


def interrupted(exc: BaseException) -> GovernedCallInterrupted:
    return GovernedCallInterrupted(["Interrupted: the %%governed --code cell stopped.",
                                    "Its governed calls so far are in _governed."], exc)


def user_frames_only(shell: Any, exc: BaseException, filename: str) -> BaseException:
    """`exc`, drawn (by IPython, through `_render_traceback_`) from the user's cell frame on:
    none of the frames of this package or IPython's runner around it."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    if tb is None:
        return exc
    last_shown, node = tb, tb
    while node is not None:  # frames past the last one not hidden are this package's wrappers
        if not node.tb_frame.f_locals.get("__tracebackhide__"):
            last_shown = node
        node = node.tb_next
    last_shown.tb_next = None  # IPython always draws the last frame, hidden or not
    try:
        stb = shell.InteractiveTB.structured_traceback(type(exc), exc, tb, tb_offset=0)
        exc._render_traceback_ = lambda: stb  # type: ignore[attr-defined]
    except Exception:  # drawing failed: IPython draws it the usual way
        pass
    return exc
