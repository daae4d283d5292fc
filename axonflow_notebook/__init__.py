"""axonflow_notebook: notebook-native AxonFlow governance for LiteLLM calls.

Importing this package must stay cheap (`%load_ext` budget: 0.15 s), so every
public name is resolved lazily on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "AxonFlowLogger": "axonflow_notebook.core.logger",
    "AxonFlowLoggerConfig": "axonflow_notebook.core.config",
    "PolicyDeniedError": "axonflow_notebook.core.errors",
    "ApprovalRejected": "axonflow_notebook.core.errors",
    "ApprovalTimeout": "axonflow_notebook.core.errors",
    "BudgetExceededError": "axonflow_notebook.core.errors",
    "GovernedResult": "axonflow_notebook.core.result",
    "BatchResult": "axonflow_notebook.core.batch",
    "BatchInterrupted": "axonflow_notebook.core.batch",
    "EmbeddedAgent": "axonflow_notebook.agent",
    "what_if": "axonflow_notebook.lab.replay",
    "audit_frame": "axonflow_notebook.evidence.frame",
}

__all__ = sorted(_LAZY) + ["load_ipython_extension", "unload_ipython_extension"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'axonflow_notebook' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


def load_ipython_extension(ipython: Any) -> None:
    from .notebook import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .notebook import unload_ipython_extension as _unload

    _unload(ipython)
