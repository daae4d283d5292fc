"""`WhatIfReport`: what a draft policy set would change, as DataFrames.

The notebook draws it as a widget with static tables beside it (notebook/ui/what_if.py, through
a display formatter registered by the extension); anywhere else its repr is a text summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass(frozen=True)
class WhatIfReport:
    """The replay of `prompts` under the set in force (`current`) and a `draft`.

    - `changes`: one row per prompt whose decision would change (a subset of `decisions`).
    - `decisions`: one row per prompt evaluated: the prompt, its decision under each set, the
      policies each set matched, the draft policy that decided it, and its label if given.
    - `by_policy`: per policy matched under either set: prompts matched under each, gained and
      lost matches, decisions it changes, and with labels its precision and recall.
    - `confusion`: with labels, expected decision (rows) against the draft's (columns);
      `confusion_current` the same for the set in force. None without labels.
    - `skipped`: how many prompts could not be evaluated, per reason; `skipped_rows` which.
    """

    changes: Any  # pandas.DataFrame
    decisions: Any
    by_policy: Any
    skipped: Any
    skipped_rows: Any
    confusion: Optional[Any] = None
    confusion_current: Optional[Any] = None
    current_version: str = ""
    draft_version: str = ""
    current_source: str = ""
    draft_source: str = ""
    source: str = ""  # what was replayed: "journal <path>" or "DataFrame"
    elapsed_s: float = 0.0
    accuracy: Optional[float] = None  # with labels: the draft's share of decisions matching them
    accuracy_current: Optional[float] = None
    policy_changes: dict = field(default_factory=dict)  # added / changed / removed policy ids

    @property
    def evaluated(self) -> int:
        return len(self.decisions)

    @property
    def not_evaluated(self) -> int:
        return int(self.skipped["prompts"].sum()) if len(self.skipped) else 0

    @property
    def changed(self) -> int:
        return len(self.changes)

    def summary(self) -> str:
        """One paragraph: what was replayed, what changes, what could not be evaluated and why."""
        rate = f"{self.evaluated / self.elapsed_s:,.0f} prompts/s" if self.elapsed_s > 0 else ""
        lines = [f"what_if: {self.evaluated} prompt{'' if self.evaluated == 1 else 's'} from {self.source} replayed under the set in force "
                 f"({self.current_version[:12]}) and the draft ({self.draft_version[:12]}) in "
                 f"{self.elapsed_s:.2f} s{', ' + rate if rate else ''}: {self.changed} "
                 f"decision{'' if self.changed == 1 else 's'} would change."]
        for reason, count in zip(self.skipped.get("reason", []), self.skipped.get("prompts", [])):
            lines.append(f"not evaluated: {count} ({reason})")
        if self.accuracy is not None:
            current = f"{self.accuracy_current:.1%}" if self.accuracy_current is not None else "n/a"
            lines.append(f"labels: the draft decides {self.accuracy:.1%} as labelled (set in force: {current})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


__all__ = ["WhatIfReport"]
