"""The policy lab's replay: `what_if(draft, against=...)`, and the policy-cell helpers it shares.

UI-free: imports the core and the agent's public names (`PolicySet`), never the notebook, which
renders what this returns. Importing the package is cheap: pandas and the policy engine load on
first use.
"""

from __future__ import annotations

from ..lazy_exports import lazy_exports

_LAZY = {
    "what_if": "replay",
    "WhatIfReport": "report",
    "current_policy_set": "policy_sets",
    "draft_policy_set": "policy_sets",
    "cell_entries": "policy_sets",
    "validated_cell_entries": "policy_sets",
    "declares_budgets": "policy_sets",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, {name: "." + module for name, module in _LAZY.items()})
