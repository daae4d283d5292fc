"""`%%governed`, `%governed` and `%axonflow`: the magics and their configuration.

The magics parse, build one frozen call context (calls/context.py) and hand it to the calls
layer; `%axonflow` routes to its subcommands (subcommands.py). How a governed cell comes to be
awaited on the kernel's loop is in transformers.py.
"""

from __future__ import annotations

from typing import Any, Optional

from IPython.core.error import UsageError
from IPython.core.magic import (
    Magics,
    cell_magic,
    line_cell_magic,
    magics_class,
    needs_local_scope,
    no_var_expand,
)
from traitlets import observe

from .args import CallOptions, governed_arguments, parse_call_options
from .lab_commands import policy_cell_arguments, run_policy_cell
from .settings import SECRET_TRAITS, GovernedSettings
from .subcommands import run_subcommand, usage
from .transformers import is_terminal

_BACKEND_TRAITS = ("endpoint", "client_id", "client_secret", "policies", "data_dir", "fail_open",
                   "call_timeout_seconds", "approval_max_wait_seconds",
                   "approval_poll_interval_seconds", "reviewer_id", "reviewer_email",
                   "reviewer_secret", "journal_prompts", "journal_retention_days")


@magics_class
class GovernedMagics(Magics, GovernedSettings):
    """Governed LLM calls: every prompt is checked by AxonFlow, held for approval when a policy
    says so, and audited."""

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        self._runtime: Any = None
        super().__init__(shell=shell, **kwargs)
        self._mask_config_secrets()  # secrets set in ipython_config.py

    @property
    def runtime(self) -> Any:
        """This kernel's backend, journal and results (calls/runtime.py), made on first use."""
        if self._runtime is None:
            from .calls.runtime import NotebookRuntime

            self._runtime = NotebookRuntime(self.backend_settings())
        return self._runtime

    def close(self) -> None:
        """Close what the extension opened in this kernel (`%unload_ext`)."""
        runtime, self._runtime = self._runtime, None
        if runtime is not None:
            runtime.close()

    @observe(*_BACKEND_TRAITS)
    def _backend_settings_changed(self, change: Any) -> None:
        """Applies from the next call on (calls/holder.py says how each change is applied)."""
        runtime = getattr(self, "_runtime", None)
        if runtime is not None:
            runtime.backends.configure(self.backend_settings())

    def update_config(self, config: Any) -> None:
        """`%config GovernedMagics.client_secret = "…"` merges the clear string into
        shell.config (so `get_ipython().config` would show it); keep the masked secret there."""
        self._mask_config_secrets(config)  # before the shell merges the same object
        super().update_config(config)
        self._mask_config_secrets()

    def _mask_config_secrets(self, *extra: Any) -> None:
        name = type(self).__name__
        configs = (self.config, getattr(self.shell, "config", None)) + extra
        for cfg in {id(c): c for c in configs if c is not None}.values():
            if name not in cfg:
                continue
            section = cfg[name]
            for trait in SECRET_TRAITS:
                if isinstance(section.get(trait), str):
                    from .secret_value import as_secret

                    section[trait] = as_secret(section[trait])

    # -- building a call ------------------------------------------------------------------------
    def _prepare(self, line: str, cell: Optional[str], *, awaiting: bool,
                 local_ns: Optional[dict] = None) -> tuple[CallOptions, Any]:
        """Parse, check and build the call; nothing is shown or sent yet."""
        from .calls.approvals import DeciderRule, Reviewer
        from .calls.context import CallContext, RequestOptions, ResultBinding, ViewKind
        from .calls.simulation import Simulation

        opts = parse_call_options(self.governed, line)
        from .calls.origin import adopt_notebook_origin

        adopt_notebook_origin(self.shell)  # per-notebook budgets: the core names the notebook's calls by it
        if opts.over is not None and (cell is None or not cell.strip()):
            raise UsageError("--over needs the template in the cell body: %%governed --over DF, then "
                             "the prompt with {column} fields")
        if opts.code:
            if opts.prompt:
                raise UsageError(f"unexpected text after --code: {opts.prompt!r}")
            if cell is None or not cell.strip():
                raise UsageError("%%governed --code needs Python code in the cell body")
        elif cell is not None and opts.prompt:
            raise UsageError(f"%%governed takes the prompt from the cell body; unexpected "
                             f"text on the magic line: {opts.prompt!r}")
        prompt = cell if cell is not None else self._line_prompt(opts, local_ns)
        terminal = is_terminal(self.shell)
        view = (ViewKind.TERMINAL if terminal else
                ViewKind.ROW if cell is None and not awaiting and not opts.background else
                ViewKind.CARD)
        ctx = CallContext(
            model=opts.model or self.effective_model(),
            simulation=Simulation(opts.simulate, self.simulate),
            user_token=self._user_token(opts),
            backend=self.runtime,
            backend_label=self._backend_label(),
            decider=DeciderRule(Reviewer(self.reviewer_id, self.reviewer_email)),
            fmt=opts.fmt,
            binding=ResultBinding(self.shell.user_ns, opts.out, self.runtime.session),
            view=view,
            awaiting=awaiting,
            clicks_unavailable=self._clicks_unavailable(opts, awaiting=awaiting),
            request=RequestOptions(opts.system, opts.temperature, opts.max_tokens, opts.stream),
            no_raise=opts.no_raise,
        )
        if opts.over is not None:
            return opts, self._batch(ctx, opts, cell or "", local_ns)
        if opts.code:
            from .calls.code_cell import CodeCell

            return opts, CodeCell(ctx, self.shell, cell or "")
        from .calls.prompt import PromptCall

        return opts, PromptCall(ctx, prompt or "")

    def _batch(self, ctx: Any, opts: CallOptions, template: str, local_ns: Optional[dict]) -> Any:
        """`%%governed --over DF`: the cell is a template over DF's rows (calls/batch.py)."""
        from collections import ChainMap

        from .calls.batch import BatchCall, BatchOptions, frame_from

        frame = frame_from(ChainMap(local_ns or {}, self.shell.user_ns), opts.over or "")
        return BatchCall(ctx, template, BatchOptions(frame, opts.over or "", opts.into, opts.concurrency,
                                                     opts.rpm, opts.tpm, opts.budget))

    def _line_prompt(self, opts: CallOptions, local_ns: Optional[dict]) -> str:
        if opts.raw:
            return opts.prompt
        from .expand import expand_names

        return expand_names(opts.prompt, [local_ns, self.shell.user_ns])

    def _user_token(self, opts: CallOptions) -> Any:
        if opts.user_token:
            from .secret_value import as_secret

            return as_secret(opts.user_token)
        return self.user_token

    def _backend_label(self) -> str:
        """What the card names before AxonFlow's first answer names the endpoint itself."""
        started = self.runtime.backends.started
        return started.label if started is not None else (self.endpoint or "AxonFlow")

    def _clicks_unavailable(self, opts: CallOptions, *, awaiting: bool) -> Optional[str]:
        from .calls.approvals import clicks_unavailable_reason

        if opts.code:  # a sync litellm.completion blocks the kernel while it waits
            awaiting = False
        return clicks_unavailable_reason(awaiting=awaiting, background=opts.background,
                                         ipykernel=_ipykernel_version(self.shell))

    # -- the magics -------------------------------------------------------------------------
    @no_var_expand
    @governed_arguments
    @line_cell_magic
    @needs_local_scope
    def governed(self, line: str, cell: Optional[str] = None, local_ns: Optional[dict] = None) -> Any:
        """Send the cell (or the rest of the line) to an LLM, governed by AxonFlow."""
        __tracebackhide__ = True
        opts, call = self._prepare(line, cell, awaiting=False, local_ns=local_ns)
        if opts.background and not opts.code:
            return call.run_background()
        return call.run_sync()

    async def governed_awaiting(self, line: str, cell: Optional[str] = None) -> Any:
        """What a `%%governed` cell runs as, after the input transformer: awaited on the loop."""
        __tracebackhide__ = True
        opts, call = self._prepare(line, cell, awaiting=True)
        if opts.background and not opts.code:
            return call.run_background()
        return await call.run_async()

    @no_var_expand
    @line_cell_magic
    def axonflow(self, line: str, cell: Optional[str] = None) -> Any:
        return run_subcommand(self, line, cell)

    axonflow.__doc__ = usage()

    @no_var_expand
    @cell_magic
    def axonflow_policy(self, line: str, cell: str) -> Any:
        return run_policy_cell(self, line, cell)

    axonflow_policy.__doc__ = policy_cell_arguments.__doc__


def _ipykernel_version(shell: Any) -> Optional[tuple]:
    if getattr(shell, "kernel", None) is None:
        return None
    import ipykernel

    return tuple(int(p) for p in ipykernel.__version__.split(".")[:2] if p.isdigit())
