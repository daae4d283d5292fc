"""axonflow_notebook: notebook-native AxonFlow governance for LiteLLM calls.

Importing this package must stay cheap (`%load_ext` budget: 0.15 s), so every
public name is resolved lazily on first attribute access.
"""

from __future__ import annotations

from typing import Any

from .lazy_exports import lazy_exports

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

__all__, __getattr__, __dir__ = lazy_exports(__name__, _LAZY)
__all__ += ["load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    from .notebook import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .notebook import unload_ipython_extension as _unload

    _unload(ipython)
