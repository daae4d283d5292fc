"""Public names a package resolves on first use (PEP 562's module `__getattr__`).

Importing a package stays cheap (`%load_ext` has 0.15 s, docs/benchmarks.md): a name's module is
imported when the name is first read, then kept in the package's namespace.
https://peps.python.org/pep-0562/
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, List, Mapping, Tuple


def lazy_exports(package: str, exports: Mapping[str, str]) -> Tuple[List[str], Callable[[str], Any],
                                                                     Callable[[], List[str]]]:
    """`__all__, __getattr__, __dir__` for `package`; `exports` maps each name to its module
    (absolute, or relative to the package: ".frame")."""
    names = sorted(exports)

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> List[str]:
        return list(names)

    return names, __getattr__, __dir__


__all__ = ["lazy_exports"]
