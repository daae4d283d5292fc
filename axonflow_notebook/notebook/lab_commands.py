"""The policy lab in IPython: `%%axonflow_policy`, `%axonflow test`, `%axonflow explain`, and how
its records display.

The magics parse and hand over to the calls layer (calls/policy_lab.py); what comes back is
drawn by the UI. `result.explain()`, `%axonflow test` and `what_if(...)` return the core's and
the lab's plain records (`DecisionExplanationRecord`, `PromptTestRecord`, `WhatIfReport`):
display formatters registered by name at `%load_ext` draw them, so nothing is imported until one
is shown, and the core and the lab stay UI-free.
"""

from __future__ import annotations

from typing import Any, Optional

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

FORMATTED = (
    ("axonflow_notebook.core.records", "DecisionExplanationRecord", "explanation"),
    ("axonflow_notebook.core.records", "PromptTestRecord", "prompt_test"),
    ("axonflow_notebook.lab.report", "WhatIfReport", "what_if"),
)


@magic_arguments(name="%axonflow_policy")  # IPython prefixes a % of its own: %%axonflow_policy
@argument("--dry-run", action="store_true",
          help="Validate and show what would change; apply nothing.")
@argument("--replace", action="store_true",
          help="Make the cell's policies the whole custom set (custom policies it does not name are "
               "removed). Default: upsert by id, leaving the others as they are.")
def policy_cell_arguments(line: str, cell: str) -> None:
    """%%axonflow_policy [--dry-run] [--replace]: put the cell's policies (YAML, the policy file's
    format: `policies:` then one entry per policy) in force at once. Each policy replaces the
    custom policy of the same id or is added; other custom policies stay as they are."""


def run_policy_cell(magics: Any, line: str, cell: Optional[str]) -> Any:
    from .calls.policy_lab import apply_policy_cell
    from .ui import policy_change_view

    try:
        opts = parse_argstring(policy_cell_arguments, line)
    except ValueError as exc:
        raise UsageError(f"%%axonflow_policy: {exc}") from None
    text = cell or ""
    if not text.strip() and not opts.replace:
        raise UsageError("%%axonflow_policy needs policies in the cell body, in the policy file's format "
                         "(policies: then entries with id, name, pattern, action); --replace with "
                         "'policies: []' removes every custom policy")
    count = getattr(magics.shell, "execution_count", None)
    source = f"policy cell [{count}]" if count else "policy cell"
    outcome = apply_policy_cell(magics.runtime, text, source=source, dry_run=opts.dry_run, replace=opts.replace)
    return policy_change_view(outcome.change, outcome.before, outcome.entries, dry_run=outcome.dry_run,
                              target=outcome.target, replace=outcome.replace)


def run_test(magics: Any, text: str, cell: Optional[str]) -> Any:
    from .calls.policy_lab import test_prompt

    if cell is not None and text.strip():
        raise UsageError("%%axonflow test takes the prompt from the cell body; unexpected text on the magic "
                         f"line: {text[:80]!r}")
    prompt = cell if cell is not None else text
    if not prompt or not prompt.strip():
        raise UsageError("%axonflow test needs a prompt: %axonflow test PROMPT, or %%axonflow test with the "
                         "prompt in the cell body")
    return test_prompt(magics.runtime, prompt)


def run_explain(magics: Any, decision_id: str) -> Any:
    from .calls.policy_lab import explain

    return explain(magics.runtime, decision_id)


# -- display ------------------------------------------------------------------------------------
def _bundle(kind: str):
    def show(obj: Any) -> Any:
        from . import ui

        if kind == "what_if":
            return ui.what_if_bundle(obj)
        view = ui.explanation_view(obj) if kind == "explanation" else ui.prompt_test_view(obj)
        return view.bundle(), view.metadata

    return show


def register_formatters(ipython: Any) -> None:
    formatter = ipython.display_formatter.mimebundle_formatter
    for module, name, kind in FORMATTED:
        formatter.for_type_by_name(module, name, _bundle(kind))


def unregister_formatters(ipython: Any) -> None:
    formatter = ipython.display_formatter.mimebundle_formatter
    for module, name, _ in FORMATTED:
        formatter.deferred_printers.pop((module, name), None)
        for cls in [c for c in formatter.type_printers if (c.__module__, c.__name__) == (module, name)]:
            formatter.type_printers.pop(cls, None)


__all__ = ["run_policy_cell", "run_test", "run_explain", "register_formatters", "unregister_formatters",
           "policy_cell_arguments"]
