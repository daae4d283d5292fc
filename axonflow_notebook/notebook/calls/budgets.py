"""`%axonflow budget`: the budgets in force, and a reviewer's changes to them; how a call over
budget stops its cell.

Reading goes through the notebook's own console; creating, changing and deleting go through the
reviewer's (`Backend.approval_console`: the reviewer's credentials on a real AxonFlow or an agent
with `--auth`), and only when this notebook may decide as a reviewer (approvals.py), as for
approvals. AxonFlow refuses anyone else anyway; the notebook says so first, in one line.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from IPython.core.error import UsageError

from .sync import resolve

REVIEWER_ONLY = ("only a reviewer may create, change or delete budgets: %axonflow connect URL --reviewer ID "
                 "(or %config GovernedMagics.reviewer_id and reviewer_secret)")


def budget_lines(err: Any) -> list[str]:
    """The two lines a cell stopped by a used-up budget shows."""
    fix = f"%axonflow budget set {err.budget_id} --limit USD" if err.budget_id else "%axonflow budget set"
    return [f"BudgetExceededError: {err}.",
            f"%axonflow budget shows the budgets in force; a reviewer can raise this one: {fix}"]


def _unquoted(value: Optional[str]) -> Optional[str]:
    """`%axonflow`'s words keep their quotes (IPython's `arg_split`, posix=False): drop a matching pair."""
    if value and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def budget_command(args: Any, backend: Any, decider: Any, *, notebook: Optional[str]) -> Any:
    args.name, args.scope_id, args.budget_id = (_unquoted(args.name), _unquoted(args.scope_id),
                                                _unquoted(args.budget_id))
    if args.verb == "show":
        if args.budget_id:
            raise UsageError("%axonflow budget takes no ID; to change one: %axonflow budget set ID --limit USD")
        return show_budgets(backend, notebook)
    if not args.budget_id:
        raise UsageError(f"%axonflow budget {args.verb} needs the budget's ID")
    if not decider.can_decide:
        raise UsageError(f"%axonflow budget {args.verb} {args.budget_id}: {REVIEWER_ONLY}")
    console = backend.approval_console()
    if args.verb == "delete":
        _refused_as_usage(lambda: resolve(console.delete_budget(args.budget_id)), args)
        print(f"AxonFlow: budget {args.budget_id} deleted.")
        return None
    return set_budget(args, backend, console)


def _refused_as_usage(action: Any, args: Any) -> Any:
    from ...core.budget_console import BudgetRequestRefused

    try:
        return action()
    except BudgetRequestRefused as exc:
        raise UsageError(f"%axonflow budget {args.verb} {args.budget_id or ''}".rstrip()
                         + f": {exc}; nothing changed") from None


def show_budgets(backend: Any, notebook: Optional[str]) -> Any:
    from ...core.budget_console import BudgetRequestRefused, call_attribution, forecast_usd
    from ..ui import budgets_table

    console = backend.console
    who = call_attribution(backend.logger)
    try:
        statuses = resolve(console.budget_statuses())
        covering = resolve(console.check_budget(**who)).budgets
        usage = resolve(console.usage_summary(period="monthly", workflow_id=notebook)) if notebook else None
    except BudgetRequestRefused as exc:
        raise UsageError(f"%axonflow budget: {exc}") from None
    now = time.time()
    forecasts = {s.budget.id: forecast_usd(s, now) for s in statuses}
    return budgets_table(statuses, forecasts=forecasts, applies={b.id for b in covering}, usage=usage,
                         notebook=notebook, user=who.get("user_id"), client_id=backend.client_id)


def set_budget(args: Any, backend: Any, console: Any) -> None:
    from ...core.budget_console import BudgetRequestRefused
    from ..ui import describe_budget

    if args.limit is not None and not args.limit > 0:
        raise UsageError("%axonflow budget set: --limit must be a positive number of US dollars")
    try:
        current = resolve(console.get_budget(args.budget_id))
    except BudgetRequestRefused as exc:
        if exc.status != 404:
            raise UsageError(f"%axonflow budget set {args.budget_id}: {exc}; nothing changed") from None
        current = None
    if current is None:
        return _create(args, backend, console)
    for name, given, have in (("period", args.period, current.period), ("scope", args.scope, current.scope),
                              ("scope-id", args.scope_id, current.scope_id)):
        if given is not None and given != have:
            raise UsageError(f"%axonflow budget set {args.budget_id}: its {name} is {have or 'not set'} and cannot "
                             f"change (what a budget counts is fixed); %axonflow budget delete {args.budget_id} "
                             "and set it again")
    if args.limit is None and args.action is None and args.name is None:
        raise UsageError(f"%axonflow budget set {args.budget_id}: nothing to change (--limit, --action or --name)")
    changed = _refused_as_usage(lambda: resolve(console.update_budget(
        args.budget_id, name=args.name, limit_usd=args.limit, on_exceed=args.action)), args)
    print(f"AxonFlow: budget {changed.id} changed: {describe_budget(changed)}.")
    return None


def _create(args: Any, backend: Any, console: Any) -> None:
    from ...core.budget_console import call_attribution
    from ..ui import describe_budget

    missing = [flag for flag, value in (("--limit", args.limit), ("--period", args.period), ("--scope", args.scope))
               if value is None]
    if missing:
        raise UsageError(f"%axonflow budget set {args.budget_id}: a new budget needs {', '.join(missing)} "
                         "(e.g. --limit 5 --period daily --scope workflow)")
    scope_id = args.scope_id
    if scope_id is None and args.scope != "organization":
        scope_id = _this(args.scope, call_attribution(backend.logger))
    created = _refused_as_usage(lambda: resolve(console.create_budget(
        args.budget_id, name=args.name or args.budget_id, scope=args.scope, limit_usd=args.limit,
        period=args.period, on_exceed=args.action or "warn", scope_id=scope_id)), args)
    hint = "" if created.on_exceed == "block" else " (--action block stops calls at the limit instead)"
    print(f"AxonFlow: budget {created.id} created: {describe_budget(created)}{hint}.")
    return None


def _this(scope: str, who: dict) -> str:
    """This notebook's own value for `scope` (a new budget without --scope-id covers it)."""
    field = {"team": "team_id", "agent": "agent_id", "workflow": "workflow_id", "user": "user_id"}[scope]
    value = who.get(field)
    if not value:
        what = {"workflow": "this notebook's path is not known here", "team": "no team_id is configured",
                "user": "this user's id is not known here", "agent": "no client id"}[scope]
        raise UsageError(f"%axonflow budget set: --scope {scope} without --scope-id means this notebook's, but "
                         f"{what}; give --scope-id")
    return value


__all__ = ["budget_lines", "budget_command", "show_budgets", "set_budget"]
