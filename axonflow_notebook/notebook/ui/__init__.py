"""The notebook's UI, as the calls layer sees it: live views, static summaries, tables.

Stand-in on the nbcalls branch: the nbui branch, which moves the renderers and widgets into this
package, replaces this file. It gives today's views and renderers the names the calls layer
imports, and adapts what today's renderers cannot take yet. Names load on first use, so importing
the package costs nothing until a view is needed (`%load_ext` stays light).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "ApprovalActions",
    "CallView",
    "CodeCellView",
    "ReviewerQueue",
    "Rich",
    "audit_trail",
    "compact_row",
    "handle_summary",
    "journal_table",
    "policies_table",
    "queue_text",
    "render_event_text",
    "status_table",
]

_HOMES = {
    "ApprovalActions": "..view",
    "ReviewerQueue": "..queue_view",
    "Rich": "..render",
    "status_table": "..render",
    "journal_table": "..journal_view",
    "render_event_text": "..text",
    "CallView": "._standin_views",
    "CodeCellView": "._standin_views",
    "audit_trail": "._standin_text",
    "compact_row": "._standin_text",
    "handle_summary": "._standin_text",
    "policies_table": "._standin_text",
    "queue_text": "._standin_text",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
