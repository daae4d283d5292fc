"""Where a governed call came from: the script or notebook, the cell, the kernel, who, which versions.

Every journal record and the `metadata` of every audit sent to AxonFlow carry this, so an
auditor can tell which notebook, cell and policy version produced a call. The core knows only
the process: the operating-system user, the host, the script (`sys.argv[0]`), the package
versions. What a notebook kernel knows (the notebook's path, the cell id of the execute request,
the execution count, the kernel's session) comes from providers the notebook layer registers
(axonflow_notebook/notebook/evidence_hooks.py), so the core never imports IPython.

`capture()` runs once per call, in the caller's context (a background call keeps the cell that
started it: providers read context variables, which asyncio copies into the call's task). It
costs a dict merge; what never changes is computed once (the package versions from the names of
their `.dist-info` directories: no import of `importlib.metadata`, which can take a second).
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Callable, Dict, List, Mapping, Optional

Provider = Callable[[], Mapping[str, Any]]

_providers: List[Provider] = []
_lock = threading.Lock()
_static: Optional[Dict[str, Any]] = None
_PACKAGES = ("axonflow", "litellm")


def register_provider(provider: Provider) -> Callable[[], None]:
    """Add fields to every call's provenance (a provider returns a mapping; None values drop a
    field, e.g. `script` in a kernel). Returns a remover."""
    global _providers
    with _lock:
        _providers = [*_providers, provider]

    def remove() -> None:
        global _providers
        with _lock:
            _providers = [p for p in _providers if p is not provider]

    return remove


def _script() -> Optional[str]:
    """The script's path (`python script.py`, `python -m pkg.mod`), None for `-c` or a REPL."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] not in ("", "-c") else None)
    if not path or path == "-c":
        return None
    return os.path.abspath(path)


def _installed_version(name: str) -> Optional[str]:
    """The version in the package's `.dist-info` directory name, without importing the package
    or `importlib.metadata` (whose import takes up to a second and holds import locks)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
        return None
    folder = os.path.dirname(os.path.dirname(spec.origin))
    prefix = name.replace("-", "_") + "-"
    try:
        entries = os.listdir(folder)
    except OSError:
        return None
    for entry in entries:
        if entry.startswith(prefix) and entry.endswith(".dist-info"):
            return entry[len(prefix):-len(".dist-info")]
    return None


def _versions() -> Dict[str, str]:
    from .. import __version__

    info = sys.version_info
    versions = {"axonflow-notebook": __version__, "python": f"{info.major}.{info.minor}.{info.micro}"}
    for name in _PACKAGES:
        found = _installed_version(name)
        if found:
            versions[name] = found
    return versions


def _user() -> Optional[str]:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no USER/LOGNAME and no passwd entry (some containers)
        return None


def static_fields() -> Dict[str, Any]:
    """What is the same for every call of this process (computed once)."""
    global _static
    if _static is None:
        import socket

        _static = {"script": _script(), "os_user": _user(), "host": socket.gethostname(),
                   "pid": os.getpid(), "packages": _versions()}
    return _static


def capture(*, client_id: Optional[str] = None, user: Optional[str] = None) -> Dict[str, Any]:
    """This call's provenance: the process's fields, the providers' fields, the AxonFlow client
    and user (a label, never the token). A failing provider is skipped, never raised."""
    fields = dict(static_fields())
    for provider in _providers:
        try:
            fields.update(provider())
        except Exception:
            continue
    if client_id:
        fields["client_id"] = client_id
    if user:
        fields["user"] = user
    return {k: v for k, v in fields.items() if v is not None}


__all__ = ["capture", "register_provider", "static_fields", "Provider"]
