"""Which notebook this kernel runs, told to the core so AxonFlow can charge per-notebook budgets.

The core names a call's workflow by the running script (axonflow_notebook/core/call_origin.py);
in a kernel that would be `ipykernel_launcher.py`. The notebook's own path comes from where
Jupyter puts it: `__session__` in the user namespace (ipykernel copies it from the
`JPY_SESSION_NAME` that jupyter_server gives a kernel it starts for a notebook:
jupyter_server/services/sessions/sessionmanager.py), `__vsc_ipynb_file__` (VS Code), else the
environment variable itself. Without any, the workflow is left unnamed: no per-notebook budget
applies, and none applies by mistake.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional

_NAMESPACE_KEYS = ("__session__", "__vsc_ipynb_file__")


def notebook_path(user_ns: Mapping[str, Any]) -> Optional[str]:
    for key in _NAMESPACE_KEYS:
        value = user_ns.get(key)
        if isinstance(value, str) and value.strip():
            return _absolute(value.strip())
    value = os.environ.get("JPY_SESSION_NAME", "").strip()
    return _absolute(value) if value else None


def _absolute(path: str) -> str:
    return path if "://" in path else os.path.abspath(os.path.expanduser(path))


def adopt_notebook_origin(shell: Any) -> Optional[str]:
    """Make this notebook's path the workflow of every call from now on; returns it."""
    from ...core.call_origin import current_origin, set_origin

    path = notebook_path(getattr(shell, "user_ns", None) or {})
    if current_origin().workflow_id != path:
        set_origin(workflow_id=path)
    return path


__all__ = ["notebook_path", "adopt_notebook_origin"]
