"""The notebook's UI: escaping, Markdown, formatting, cards, live views and static summaries.

Everything the calls layer needs is importable from here. Names load lazily (PEP 562), so
`%load_ext` imports none of markdown-it, ipywidgets or anywidget until a view is drawn.

Modules, one job each: `escape` (HTML/Markdown escaping, no maths), `markdown` (model Markdown
via markdown-it-py), `format` (durations, times, costs, enum words), `html` (badges, cards,
tables), `tables` (Markdown and text tables), `rich` (static bundles), `state` (the fold of core
events), `call_cards/` (decision, approval, response, audit cards), `summary` (static summaries),
`coalesce` (the one redraw limiter), `live_widget` + `static/*.js` (the anywidget models),
`call_view`, `code_view`, `queue` (live views), `status`, `policies`, `audit_trail`, `journal`
(tables for `%axonflow`), `terminal` (plain lines), `handle_view` (background handles);
`batch_state` + `batch_view` + `static/batch.js` + `batch_summary` + `batch_terminal` (batches);
`budgets` (spend); the policy lab: `highlight` (matched spans in a prompt), `lab_parts`,
`prompt_test`, `explanation`, `policy_cell`, `what_if` (+ `static/what_if.js`).
"""

from __future__ import annotations

from ...lazy_exports import lazy_exports

_EXPORTS = {
    "CallView": "call_view",
    "ApprovalActions": "call_view",
    "CodeCellView": "code_view",
    "ReviewerQueue": "queue",
    "Rich": "rich",
    "CallState": "state",
    "status_table": "status",
    "policies_table": "policies",
    "audit_trail": "audit_trail",
    "journal_table": "journal",
    "render_event_text": "terminal",
    "queue_text": "terminal",
    "compact_row": "summary",
    "call_summary": "summary",
    "handle_summary": "handle_view",
    "budgets_table": "budgets",
    "describe_budget": "budgets",
    # the policy lab
    "policy_change_view": "policy_cell",
    "prompt_test_view": "prompt_test",
    "explanation_view": "explanation",
    "what_if_bundle": "what_if",
    "what_if_static": "what_if",
    # batches
    "BatchView": "batch_view",
    "BatchTerminal": "batch_terminal",
    "batch_summary": "batch_summary",
    "report_view": "evidence_views",
    "verification_view": "evidence_views",
    "export_view": "evidence_views",
    "FrameRich": "evidence_views",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, {name: "." + module for name, module in _EXPORTS.items()})
