"""`df.governed` in a notebook: registered when pandas (or Dask) is imported, governing with this
notebook's AxonFlow by default.

Nothing is imported at `%load_ext`: a post-import hook (axonflow_notebook/import_hooks.py)
registers the accessor the moment the user imports pandas, in the same cell. `%%governed
--over DF` is the notebook's own form (live progress and one approval panel); the accessor is
the core API, which blocks the cell while it runs.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


def _register() -> None:
    importlib.import_module("axonflow_notebook.pandas")


def install(magics: Any) -> Callable[[], None]:
    """Make this notebook's logger the accessor's default; returns what undoes it (`%unload_ext`)."""
    from ..core.default_logger import set_default_logger_source
    from ..import_hooks import when_imported

    def source() -> Any:
        return magics.runtime.backend().logger

    previous = set_default_logger_source(source)
    when_imported("pandas", _register)

    def uninstall() -> None:
        current = set_default_logger_source(previous)
        if current is not source:  # another notebook extension instance took over since: keep its
            set_default_logger_source(current)

    return uninstall
