"""`%%governed`, `%governed` and `%axonflow`: the magics and their configuration.

A magic is sync, and a cell blocked in sync code never receives widget clicks. So the extension
registers an input transformer that turns a cell consisting of a `%%governed` call into
`await <magics>.governed_awaiting(line, cell)`: IPython's autoawait then runs it as a top-level
async cell on the kernel loop, where ipykernel >= 7.4 delivers Approve / Reject clicks.
"""

from __future__ import annotations

import ast
from typing import Any, List, Optional

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.display import display
from traitlets import observe

from .approvals import Decider, decider_for, resolve
from .args import (
    CallOptions,
    axonflow_arguments,
    governed_arguments,
    parse_call_options,
    parse_filters,
)
from .backend import Backend, BackendHolder
from .session import Session
from .settings import SECRET_TRAITS, GovernedSettings, Secret, reveal

_REGISTRY_KEY = "GovernedMagics"


class Runtime:
    """Per-extension state: the lazily started backend and this kernel's results."""

    def __init__(self, settings: GovernedSettings) -> None:
        self.backends = BackendHolder(settings)
        self.session = Session()
        self.settings = settings

    def backend(self) -> Backend:
        backend = self.backends.get()
        journal = self.journal()
        if journal is not None:
            journal.attach(backend.logger)  # idempotent; a reconnect brings a new logger
        return backend

    def journal(self) -> Any:
        """The local audit journal in the data dir (AXONFLOW_JOURNAL=off disables it)."""
        import os

        if os.environ.get("AXONFLOW_JOURNAL", "").strip().lower() in ("off", "0", "false", "no"):
            return None
        from pathlib import Path

        from ..core.journal import default_journal

        return default_journal(Path(self.settings.effective_data_dir()).expanduser() / "journal.sqlite3")

    def close(self) -> None:
        self.backends.close()


@magics_class
class GovernedMagics(Magics, GovernedSettings):
    """Governed LLM calls: every prompt is checked by AxonFlow, held for approval when a policy
    says so, and audited."""

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.runtime = Runtime(self)
        self._mask_config_secrets()  # secrets set in ipython_config.py

    @observe("endpoint", "client_id", "client_secret", "policies", "data_dir")
    def _backend_changed(self, change: Any) -> None:
        """A new endpoint, credential or policy file applies from the next call on."""
        if getattr(self, "runtime", None) is not None:
            self.runtime.close()

    @observe("fail_open", "call_timeout_seconds", "approval_max_wait_seconds",
             "approval_poll_interval_seconds")
    def _timing_changed(self, change: Any) -> None:
        """Same backend (the embedded agent keeps running), new core config."""
        if getattr(self, "runtime", None) is not None:
            self.runtime.backends.reconnect()

    def update_config(self, config: Any) -> None:
        """`%config GovernedMagics.client_secret = "…"` merges the clear string into
        shell.config (so `get_ipython().config` would show it); keep the masked Secret there."""
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
                    section[trait] = Secret(section[trait])

    # -- helpers used by runner / code_mode -----------------------------------------------------
    def effective_user_token(self) -> Optional[str]:
        return reveal(self.user_token) or None

    def decider(self, backend: Backend) -> Decider:
        return decider_for(dev_mode=backend.dev_mode, requester=backend.client_id,
                           reviewer_id=self.reviewer_id, reviewer_email=self.reviewer_email)

    def _prepare(self, line: str, cell: Optional[str], *, awaiting: bool) -> tuple[CallOptions, Any]:
        opts = parse_call_options(self.governed, line)
        if opts.code:
            from .code_mode import CodeCell

            if cell is None or not cell.strip():
                raise UsageError("%%governed --code needs Python code in the cell body")
            if opts.prompt:
                raise UsageError(f"unexpected text after --code: {opts.prompt!r}")
            return opts, CodeCell(self, opts, cell, awaiting=awaiting)
        from .runner import PromptCall

        if cell is not None and opts.prompt:
            raise UsageError(f"%%governed takes the prompt from the cell body; unexpected "
                             f"text on the magic line: {opts.prompt!r}")
        prompt = cell if cell is not None else opts.prompt
        return opts, PromptCall(self, opts, prompt, awaiting=awaiting)

    # -- the magics -------------------------------------------------------------------------
    @no_var_expand
    @governed_arguments
    @line_cell_magic
    def governed(self, line: str, cell: Optional[str] = None) -> Any:
        """Send the cell (or the rest of the line) to an LLM, governed by AxonFlow."""
        opts, call = self._prepare(line, cell, awaiting=False)
        if getattr(opts, "background", False) and not opts.code:
            return call.run_background()
        return call.run_sync()

    async def governed_awaiting(self, line: str, cell: Optional[str] = None) -> Any:
        """What a `%%governed` cell runs as, after the input transformer: awaited on the loop."""
        opts, call = self._prepare(line, cell, awaiting=True)
        if opts.background and not opts.code:
            return call.run_background()
        return await call.run_async()

    @no_var_expand
    @axonflow_arguments
    @line_magic
    def axonflow(self, line: str) -> Any:
        """AxonFlow from the notebook: status, policies, audit [--limit N] [--filter K=V] [--local], queue, endpoint."""
        from IPython.core.magic_arguments import parse_argstring

        args = parse_argstring(self.axonflow, line)
        if args.command == "audit" and args.limit <= 0:
            raise UsageError("--limit must be a positive integer")
        if args.command == "audit" and args.local:
            from .ui import journal_table

            journal = self.runtime.journal()
            if journal is None:
                raise UsageError("the local audit journal is off (AXONFLOW_JOURNAL=off)")
            return journal_table(journal.records(limit=args.limit), str(journal.path))
        filters = parse_filters(args.filter)
        backend = self.runtime.backend()
        if args.command == "endpoint":
            return backend.url
        if args.command == "status":
            return self._status(backend)
        if args.command == "policies":
            from .ui import policies_table
            from .ui.sdk_records import policy_record

            return policies_table([policy_record(p) for p in
                                   _as_list(resolve(backend.console.list_policies()))])
        if args.command == "audit":
            from .ui import audit_trail
            from .ui.sdk_records import audit_page

            try:
                page = resolve(backend.console.search_audit(limit=args.limit, **filters))
            except (TypeError, ValueError) as exc:  # pydantic names the bad filter
                raise UsageError(f"%axonflow audit: bad --filter: {exc}".splitlines()[0]) from None
            return audit_trail(audit_page(page), self.runtime.session.results)
        from .runner import is_terminal

        decider = self.decider(backend)
        if is_terminal(self.shell):
            from .ui import queue_text
            from .ui.sdk_records import queue_page

            print(queue_text(queue_page(resolve(backend.approval_console().list_queue()))[0]))
            return None
        from .ui import ReviewerQueue

        if not decider.can_decide:
            print(decider.reason)
        queue = ReviewerQueue(
            backend.approval_console(),
            decider.reviewer_id,
            decider.reviewer_email,
            can_decide=decider.can_decide,
            disabled_reason=decider.reason,
        )
        display(queue.widget)
        return None

    def _status(self, backend: Backend) -> Any:
        from .ui import status_table

        try:
            health = "ok" if resolve(backend.console.health()) else "unhealthy"
        except Exception as exc:  # status must show an unreachable AxonFlow, not fail
            health = f"unreachable ({type(exc).__name__})"
        info = dict(backend.describe())
        info["health"] = _plain(health)
        info["breaker"] = str(getattr(backend.logger, "breaker_state", "unknown"))
        info.update(self.public_config())
        return status_table(info)



def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump()
    return value


def _as_list(value: Any) -> list:
    items = getattr(value, "policies", value)
    return [_plain(item) if not isinstance(item, dict) else item for item in (items or [])]



# -- input transformer: make %%governed cells await -------------------------------------------
def _magic_call(node: ast.AST) -> Optional[tuple[str, str, Optional[str]]]:
    """(kind, line, cell) when `node` is `get_ipython().run_{cell,line}_magic('governed', …)`."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    target = node.func.value
    if not (isinstance(target, ast.Call) and isinstance(target.func, ast.Name)
            and target.func.id == "get_ipython" and not target.args):
        return None
    args = node.args
    if node.keywords or not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
        return None
    values = [a.value for a in args]
    if node.func.attr == "run_cell_magic" and len(values) == 3 and values[0] == "governed":
        return "cell", values[1], values[2]
    if node.func.attr == "run_line_magic" and len(values) == 2 and values[0] == "governed":
        return "line", values[1], None
    return None


class AwaitGovernedCells:
    """`shell.input_transformers_post` entry; inert unless IPython runs async cells on asyncio."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell

    def can_await(self) -> bool:
        from IPython.core.interactiveshell import _asyncio_runner

        return bool(self.shell.autoawait) and self.shell.loop_runner is _asyncio_runner

    def __call__(self, lines: List[str]) -> List[str]:
        source = "".join(lines)
        if "'governed'" not in source or not self.can_await():
            return lines
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return lines
        if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
            return lines
        found = _magic_call(tree.body[0].value)
        if found is None:
            return lines
        _, line, cell = found
        return [f"await get_ipython().magics_manager.registry[{_REGISTRY_KEY!r}]"
                f".governed_awaiting({line!r}, {cell!r})\n"]


def keep_question_marks(lines: List[str]) -> List[str]:
    """`%governed What is X?` must send the question, not ask IPython for help on `X`.

    IPython reads a trailing `?` as a help request before any magic runs, so a one-line
    prompt ending in `?` is turned into the explicit magic call here (a cleanup transform,
    which runs before the help syntax is looked at).
    """
    code = [line for line in lines if line.strip()]
    if len(code) != 1:
        return lines
    line = code[0].strip()
    if not (line.startswith("%governed ") and line.endswith("?")) or line.endswith("??"):
        return lines
    rest = line[len("%governed "):]
    return [f"get_ipython().run_line_magic('governed', {rest!r})\n"]
