"""The policy lab's replay: `what_if(draft, against=...)`, and the policy-cell helpers it shares.

UI-free: imports the core and the agent's public names (`PolicySet`), never the notebook, which
renders what this returns. Importing the package is cheap: pandas and the policy engine load on
first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "what_if": "replay",
    "WhatIfReport": "report",
    "current_policy_set": "policy_sets",
    "draft_policy_set": "policy_sets",
    "cell_entries": "policy_sets",
    "validated_cell_entries": "policy_sets",
    "declares_budgets": "policy_sets",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
