"""What only the kernel knows about a call's origin, handed to the core; and evidence's defaults.

`%load_ext` registers a provenance provider with the core (core/provenance.py): every governed
call then records the notebook's path, the cell id, the execution count and the kernel's ids.
How each is obtained:

- cell id: the execute request's `metadata.cellId`, which JupyterLab and Notebook 7 send and
  ipykernel passes to IPython's `pre_run_cell` as `info.cell_id` (ipykernel/kernelbase.py
  `execute_request`); nbclient sends no metadata (nbclient/client.py `async_execute_cell`), so
  there the cell is found in the notebook file by its source, in execution order;
- notebook path: `JPY_SESSION_NAME`, which jupyter_server sets to the notebook's path when it
  starts a kernel for it (jupyter_server/services/sessions/sessionmanager.py `get_kernel_env`);
  VS Code's `__vsc_ipynb_file__`; else (nbclient, papermill, `jupyter execute`, which start the
  kernel in the notebook's directory and tell it nothing more) the one notebook in the kernel's
  working directory whose code cells hold the cells run so far, in order;
- execution count: the cell's, at `pre_run_cell` (see `_count`); kernel ids: the kernel's session
  id, and the id in its connection file's name (`kernel-<id>.json`, as jupyter_server names it);
- terminal IPython: no notebook; the history session number instead.

The cell is kept in a context variable set at `pre_run_cell`, so a `--background` call (a task
on the core's loop, which copies the caller's context) records the cell that started it.
"""

from __future__ import annotations

import contextvars
import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

Cell = Tuple[Optional[str], Optional[int], str]  # (cell id from the request, execution count, raw source)
_CELL: "contextvars.ContextVar[Optional[Cell]]" = contextvars.ContextVar("axonflow_cell", default=None)
_MAX_CANDIDATES = 200
_MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


def _source(cell: Dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _code_cells(path: Path) -> Optional[List[Tuple[Optional[str], str]]]:
    try:
        if path.stat().st_size > _MAX_NOTEBOOK_BYTES:
            return None
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        return None
    return [(c.get("id"), _source(c)) for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]


def _match(cells: List[Tuple[Optional[str], str]], executed: List[str]) -> Optional[List[Optional[str]]]:
    """The ids of the cells `executed` ran, matched in order (None if they are not all there)."""
    ids: List[Optional[str]] = []
    at = 0
    for source in executed:
        while at < len(cells) and cells[at][1].strip() != source.strip():
            at += 1
        if at == len(cells):
            return None
        ids.append(cells[at][0])
        at += 1
    return ids


class KernelProvenance:
    """The provider: reads the shell and the current cell; a notebook file is read at most once."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self._fixed: Optional[Dict[str, Any]] = None
        self._notebook: Optional[Path] = None
        self._matched_in_cwd = False
        self._cells: Optional[List[Tuple[Optional[str], str]]] = None
        self._last: Optional[Cell] = None  # for threads the user starts (they get no context copy)

    # -- IPython event --------------------------------------------------------------------
    def pre_run_cell(self, info: Any) -> None:
        cell = (getattr(info, "cell_id", None) or None, self._count(info), getattr(info, "raw_cell", "") or "")
        _CELL.set(cell)
        self._last = cell

    def _count(self, info: Any) -> Optional[int]:
        """This cell's execution count. IPython 9 adds one to `shell.execution_count` before
        `pre_run_cell`, earlier versions after the cell; both store the cell in the history after
        `pre_run_cell` (IPython/core/interactiveshell.py `run_cell_async`), so the count is the
        history's length then (its entry 0 is a placeholder)."""
        if not getattr(info, "store_history", True):
            return None
        history = getattr(getattr(self.shell, "history_manager", None), "input_hist_raw", None)
        return len(history) if history is not None else getattr(self.shell, "execution_count", None)

    # -- the provider -------------------------------------------------------------------------
    def __call__(self) -> Dict[str, Any]:
        fields = dict(self._fixed_fields())
        cell = _CELL.get() or self._last
        if cell is not None:
            cell_id, count, raw = cell
            fields["execution_count"] = count
            if cell_id:
                fields["cell_id"] = cell_id
            elif self._notebook_cells() is not None:
                matched = self._cell_by_source(raw)
                if matched:
                    fields["cell_id"], fields["cell_id_from"] = matched, "source match"
        if self._notebook is not None:
            fields["notebook"] = str(self._notebook)
            if self._matched_in_cwd:
                fields["notebook_from"] = "working-directory match"
        return fields

    def _fixed_fields(self) -> Dict[str, Any]:
        if self._fixed is None:
            fields: Dict[str, Any] = {"script": None}  # argv[0] is ipykernel_launcher or ipython, not a script
            kernel = getattr(self.shell, "kernel", None)
            if kernel is not None:
                fields["frontend"] = "jupyter kernel"
                fields["kernel_session"] = getattr(getattr(kernel, "session", None), "session", None)
                fields["kernel_id"] = _kernel_id()
            else:
                fields["frontend"] = "ipython"
                fields["ipython_session"] = getattr(getattr(self.shell, "history_manager", None),
                                                    "session_number", None)
            named = os.environ.get("JPY_SESSION_NAME") or _user_ns(self.shell, "__session__") \
                or _user_ns(self.shell, "__vsc_ipynb_file__")
            if named:
                self._notebook = _session_path(named)
            self._fixed = fields
        return self._fixed

    def _executed(self, current: str) -> List[str]:
        history = getattr(getattr(self.shell, "history_manager", None), "input_hist_raw", None) or []
        done = [str(s) for s in history[1:]]
        if not done or done[-1] != current:
            done.append(current)
        return [s for s in done if s.strip()]

    def _notebook_cells(self) -> Optional[List[Tuple[Optional[str], str]]]:
        """The code cells of the notebook this kernel runs (found once)."""
        if self._cells is not None:
            return self._cells
        if getattr(self.shell, "kernel", None) is None:
            return None
        if self._notebook is not None:
            self._cells = _code_cells(self._notebook)
            return self._cells
        cell = _CELL.get() or self._last
        executed = self._executed(cell[2] if cell else "")
        found = []
        for path in sorted(Path.cwd().glob("*.ipynb"))[:_MAX_CANDIDATES]:
            cells = _code_cells(path)
            if cells is not None and _match(cells, executed) is not None:
                found.append((path, cells))
        if len(found) == 1:  # exactly one notebook holds what ran: this kernel's
            self._notebook, self._cells = found[0][0].resolve(), found[0][1]
            self._matched_in_cwd = True
        return self._cells

    def _cell_by_source(self, raw: str) -> Optional[str]:
        ids = _match(self._cells or [], self._executed(raw))
        return ids[-1] if ids else None


def _session_path(named: str) -> Path:
    """The notebook's path from the session name: absolute when jupyter_server joins the kernel's
    directory and the notebook's name; a path relative to the server's root otherwise, whose file
    is then in the kernel's working directory (where the server starts a notebook's kernel)."""
    path = Path(named).expanduser()
    if path.is_absolute():
        return path
    beside = Path.cwd() / path.name
    return beside if beside.exists() else (Path.cwd() / path).resolve()


def _user_ns(shell: Any, name: str) -> Optional[str]:
    value = getattr(shell, "user_ns", {}).get(name)
    return value if isinstance(value, str) and value else None


def _kernel_id() -> Optional[str]:
    try:
        from ipykernel.kernelapp import IPKernelApp
    except ImportError:
        return None
    if not IPKernelApp.initialized():
        return None
    name = os.path.basename(IPKernelApp.instance().connection_file or "")
    return name[len("kernel-"):-len(".json")] if name.startswith("kernel-") and name.endswith(".json") else None


def install(shell: Any, magics: Any) -> Callable[[], None]:
    """Register the provenance provider and evidence's defaults; returns the undo."""
    from ..core.provenance import register_provider
    from ..evidence import sources

    provider = KernelProvenance(shell)
    shell.events.register("pre_run_cell", provider.pre_run_cell)
    remove = register_provider(provider)

    def console() -> Any:
        return magics.runtime.backend().console

    def journal() -> Optional[Path]:
        found = magics.runtime.journal()
        return Path(found.path) if found is not None else None

    def data_dir() -> Path:
        return Path(magics.effective_data_dir()).expanduser()

    unregister = sources.register(console=console, journal=journal, data_dir=data_dir)

    def undo() -> None:
        remove()
        unregister()
        try:
            shell.events.unregister("pre_run_cell", provider.pre_run_cell)
        except ValueError:
            pass

    return undo


__all__ = ["install", "KernelProvenance"]
