"""Where a governed call comes from, as the pre-check's `context` tells AxonFlow.

AxonFlow charges a call to budgets by what its pre-check context names (the embedded agent's
mapping: axonflow_notebook/agent/budgets/attribution.py): `context.workflow_id` for a
workflow budget, `context.user_id` for a user budget, `org_id` and `team_id` for theirs.
So a per-notebook or per-user budget works only if every call says which notebook and which
user it comes from. `CallOrigin` holds those facts for the process:

- `workflow_id`: the notebook's path (the notebook layer sets it once it knows it), else the
  script's path (`python script.py`), else none;
- `user_id`: who runs it: the subject of the call's user token when it has one
  (user_label.py), else the operating-system login.

What the configuration's `extra_context` names wins over both (`AXONFLOW_EXTRA_CONTEXT=
'{"workflow_id": "nightly-eval"}'`). Provenance (notebook cell, execution count, session)
may add fields here later; `context()` is the one place that maps them onto AxonFlow's keys.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from .user_label import user_label

MAX_SCOPE_VALUE = 256  # the longest scope id AxonFlow's pre-check accepts (attribution.py)
_UNSET: Any = object()


@dataclass(frozen=True)
class CallOrigin:
    workflow_id: Optional[str] = None
    user_id: Optional[str] = None

    def context(self) -> Dict[str, str]:
        """The pre-check context keys this origin fills (only those it knows)."""
        out: Dict[str, str] = {}
        if self.workflow_id:
            out["workflow_id"] = fit_scope_value(self.workflow_id)
        if self.user_id:
            out["user_id"] = fit_scope_value(self.user_id)
        return out


def fit_scope_value(value: str) -> str:
    """A value AxonFlow accepts as a scope id: at most 256 characters. A longer path keeps its
    end (the file name) behind a short hash of the whole, so two long paths never collide."""
    if len(value) <= MAX_SCOPE_VALUE:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{digest}…{value[-(MAX_SCOPE_VALUE - len(digest) - 1):]}"


def script_path() -> Optional[str]:
    """The running script's absolute path (`python script.py`, `python -m pkg.mod`), else None."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv else "")
    if not path or path.startswith("-") or not os.path.isfile(path):
        return None
    return os.path.abspath(path)


def login_name() -> Optional[str]:
    try:
        return getpass.getuser() or None
    except Exception:  # no login name (some containers): no user budget by login
        return None


_lock = threading.Lock()
_origin: Optional[CallOrigin] = None
_version = 0  # bumped by set_origin: the key of contexts built from an origin


def current_origin() -> CallOrigin:
    """This process's origin (computed on first use)."""
    global _origin
    origin = _origin
    if origin is None:
        with _lock:
            if _origin is None:
                _origin = CallOrigin(workflow_id=script_path(), user_id=login_name())
            origin = _origin
    return origin


def set_origin(*, workflow_id: Any = _UNSET, user_id: Any = _UNSET) -> CallOrigin:
    """Change this process's origin from the next call on (None clears a field)."""
    global _origin, _version
    with _lock:
        base = _origin or CallOrigin(workflow_id=script_path(), user_id=login_name())
        changes = {k: v for k, v in (("workflow_id", workflow_id), ("user_id", user_id)) if v is not _UNSET}
        _origin = dataclasses.replace(base, **changes)
        _version += 1
        return _origin


class PreCheckContexts:
    """The `context` of each pre-check: the configuration's own, then the origin's fields.

    Built once per (user token, origin) and reused: the pre-check is on every call's path.
    """

    _MAX = 256

    def __init__(self, configured: Mapping[str, Any]) -> None:
        self._configured = dict(configured)
        self._built: Dict[tuple, Dict[str, Any]] = {}

    def for_call(self, user_token: Optional[str]) -> Dict[str, Any]:
        key = (user_token, _version)
        context = self._built.get(key)
        if context is None:
            origin = current_origin()
            subject = user_label(user_token)
            if subject:
                origin = dataclasses.replace(origin, user_id=subject)
            context = {**origin.context(), **self._configured}
            if len(self._built) >= self._MAX:
                self._built.clear()
            self._built[key] = context
        return context


__all__ = ["CallOrigin", "current_origin", "set_origin", "script_path", "login_name", "fit_scope_value",
           "PreCheckContexts", "MAX_SCOPE_VALUE"]
