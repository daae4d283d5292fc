"""Run a callback right after a module is imported, without importing it ourselves.

`%load_ext axonflow_notebook` must not import pandas (0.15 s budget), yet `df.governed` should be
there as soon as the user imports pandas, in the same cell. A finder first on `sys.meta_path`
wraps the named module's loader; when the module has executed, the callbacks run (once). A
module already imported runs them at once. The same idea as wrapt's post-import hooks
(https://github.com/GrahamDumpleton/wrapt/blob/develop/src/wrapt/importer.py) and PEP 369.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import sys
import threading
from typing import Any, Callable, Dict, List

_log = logging.getLogger(__name__)
_lock = threading.RLock()
_hooks: Dict[str, List[Callable[[], None]]] = {}


def when_imported(name: str, callback: Callable[[], None]) -> None:
    """Call `callback()` once `name` is imported (now, if it already is)."""
    with _lock:
        if name not in sys.modules:
            _hooks.setdefault(name, []).append(callback)
            if not any(isinstance(finder, _PostImportFinder) for finder in sys.meta_path):
                sys.meta_path.insert(0, _PostImportFinder())
            return
    _run([callback], name)


def _run(callbacks: List[Callable[[], None]], name: str) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a hook must never break the user's import
            _log.warning("post-import hook for %s failed", name, exc_info=True)


class _HookedLoader(importlib.abc.Loader):
    def __init__(self, loader: Any, name: str) -> None:
        self._loader = loader
        self._name = name

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        with _lock:
            callbacks = _hooks.pop(self._name, [])
        _run(callbacks, self._name)

    def __getattr__(self, name: str) -> Any:  # get_code, is_package, resource readers…
        return getattr(self._loader, name)


class _PostImportFinder(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self._finding: set = set()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        with _lock:
            if fullname not in _hooks or fullname in self._finding:
                return None
            self._finding.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)  # the other finders' answer (we skip ourselves)
        finally:
            with _lock:
                self._finding.discard(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _HookedLoader(spec.loader, fullname)
        return spec


__all__ = ["when_imported"]
