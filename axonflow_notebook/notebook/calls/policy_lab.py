"""The policy lab's calls: put a policy cell in force, test a prompt, explain a decision.

A policy cell's policies are upserted by id into the custom set in force (a cell holding one
policy never deletes the others); `replace` makes them the whole custom set instead. With the
user's embedded agent that is one live reload (`PUT /api/v1/local/policies` with `merge`:
same URL, same data, calls in flight finish on the set they started with); with another
AxonFlow, its static-policy API, one policy at a time, after the cell was validated here with
the agent's own rules (the same one-line-per-problem errors). Problems a user can cause are
`UsageError`s: the agent's lines, or one line saying what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from IPython.core.error import UsageError

from .sync import resolve


@dataclass(frozen=True)
class PolicyCellOutcome:
    """What a policy cell did: the change, the custom policies before it, the cell's entries."""

    change: Any  # core PolicyChange
    before: Sequence[Any]  # core PolicyRecords (custom policies in force before the cell)
    entries: Sequence[Mapping[str, Any]]
    dry_run: bool
    replace: bool
    target: str


def _unreachable(what: str, backend: Any, exc: BaseException) -> UsageError:
    """AxonFlow unreachable, timing out or answering an error: one line, never our traceback."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return UsageError(f"{what}: the AxonFlow at {backend.url} did not answer ({type(exc).__name__}: "
                      f"{lines[0][:200] if lines else 'no detail'})")


def _lines(exc: BaseException) -> str:
    problems = getattr(exc, "problems", None) or [line for line in str(exc).splitlines() if line.strip()]
    return "\n".join(problems)


def apply_policy_cell(runtime: Any, text: str, *, source: str, dry_run: bool, replace: bool) -> PolicyCellOutcome:
    from ...core.extra_routes import PolicyReloadRejected
    from ...core.policy_upsert import PolicyWriteRefused
    from ...lab import cell_entries, declares_budgets, validated_cell_entries

    backend = runtime.backend()
    console = backend.console
    try:
        before = [p for p in resolve(console.list_policies()) if p.tier != "system"]
    except Exception:  # (e.g. refused credentials) the change itself reports the problem, in words
        before = []
    try:
        if backend.local:
            change = resolve(console.reload_policies(text, source, dry_run, merge=not replace))
            entries = cell_entries(text)
        else:
            if declares_budgets(text):
                raise UsageError(f"{source}: budgets are put in force by the embedded agent only; create them "
                                 f"on the AxonFlow at {backend.url} with its budget API")
            try:
                entries = validated_cell_entries(text, source)
            except ValueError as exc:  # the agent's PolicyFileError: one line per problem
                raise UsageError(str(exc)) from None
            change = resolve(console.upsert_policies(entries, source=source, dry_run=dry_run, replace=replace))
    except PolicyReloadRejected as exc:
        raise UsageError(_lines(exc)) from None
    except PolicyWriteRefused as exc:
        raise UsageError(str(exc)) from None
    except UsageError:
        raise
    except Exception as exc:
        raise _unreachable("%%axonflow_policy", backend, exc) from None
    target = backend.label if backend.local else f"AxonFlow at {backend.url} (static-policy API)"
    return PolicyCellOutcome(change, before, entries, dry_run, replace, target)


def test_prompt(runtime: Any, prompt: str) -> Any:
    """The pre-check's decision for `prompt` (a `PromptTestRecord`): no LLM call, no audit."""
    from ...core.extra_routes import RouteUnavailable

    backend = runtime.backend()
    try:
        return resolve(backend.console.test_prompt(prompt))
    except RouteUnavailable as exc:
        raise UsageError(str(exc)) from None
    except Exception as exc:
        raise _unreachable("%axonflow test", backend, exc) from None


def _known_prompt(runtime: Any, context_id: str) -> Optional[tuple]:
    """(prompt, source) for a decision: this kernel's results first, then the local journal."""
    for result in reversed(runtime.session.results):
        decision = getattr(result, "decision", None)
        if decision is not None and decision.context_id == context_id and getattr(decision, "query", ""):
            return decision.query, "result", len(decision.query)
    journal = runtime.journal()
    if journal is None:
        return None
    from ...core.journal_prompts import journal_prompt_of

    found = journal_prompt_of(context_id, journal.path)
    if found is None or found.prompt is None:
        return None
    return found.prompt, "journal" if found.whole else "journal preview", found.prompt_chars


def explain(runtime: Any, decision_id: str) -> Any:
    """AxonFlow's explanation of a decision (`DecisionExplanationRecord`), its prompt added when known."""
    import dataclasses

    from ...core.extra_routes import RouteUnavailable
    from ...core.policy_lab import DecisionNotFound

    backend = runtime.backend()
    try:
        record = resolve(backend.console.explain(decision_id))
    except (DecisionNotFound, RouteUnavailable, ValueError) as exc:
        raise UsageError(str(exc)) from None
    except Exception as exc:
        raise _unreachable("%axonflow explain", backend, exc) from None
    if record.prompt is None:
        known = _known_prompt(runtime, record.decision_id)
        if known is not None:
            prompt, source, chars = known
            record = dataclasses.replace(record, prompt=prompt, prompt_source=source,
                                         prompt_chars=chars or record.prompt_chars)
    return record


__all__ = ["apply_policy_cell", "test_prompt", "explain", "PolicyCellOutcome"]
