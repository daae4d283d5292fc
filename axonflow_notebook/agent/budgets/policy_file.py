"""The ``budgets:`` section of a policy file, validated and loaded with its policies.

    policies: [...]
    budgets:
      - id: notebook-daily
        name: Notebook spend per day
        scope: organization          # organization | team | agent | workflow | user
        limit_usd: 5
        period: daily                # daily | weekly | monthly | quarterly | yearly
        on_exceed: block             # warn (default) | block | downgrade
        alert_thresholds: [50, 80, 100]
        # scope_id: analyst          # optional: only calls with this value for the scope

Every problem is one line led by the file's name, naming the entry and the field, as for
policies (``policy/custom.py``): ``policies.yaml: budget #2 (id 'x'): limit_usd must be
greater than 0``. A file's policies and budgets are checked together, so one load reports
every problem of both, and a bad budget keeps the whole file out of force.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from ... import fast_yaml as yaml  # libyaml when built with it
from .. import timestamps
from ..policy import PolicyEngine, PolicyFileError
from .spec import Budget, BudgetError, parse_budget


def _label(index: int, raw: Any) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"]:
        return f"budget #{index} (id {raw['id']!r})"
    return f"budget #{index}"


def parse_budgets(text: str, name: str) -> list[Budget]:
    """The budgets a policy file declares ([] for none). Raises ``PolicyFileError``.

    Text that is not a YAML mapping declares none here: the policy parser reports it.
    """
    if not text.strip():
        return []
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    if not isinstance(data, dict) or data.get("budgets") is None:
        return []
    entries = data["budgets"]
    if not isinstance(entries, list):
        raise PolicyFileError(f"{name}: 'budgets' must be a list of budget mappings")
    now = timestamps.now()
    problems: list[str] = []
    budgets: list[Budget] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(entries, start=1):
        label = _label(index, raw)
        try:
            budget = parse_budget(raw, source=name, now=now)
        except BudgetError as exc:
            problems.extend(f"{name}: {label}: {problem}" for problem in exc.problems)
            continue
        if budget.id in seen:
            problems.append(f"{name}: {label}: id '{budget.id}' duplicates budget #{seen[budget.id]}")
            continue
        seen[budget.id] = index
        budgets.append(budget)
    if problems:
        raise PolicyFileError("\n".join(problems))
    return budgets


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return ""  # the policy loader reports an unreadable file


def _together(load_engine, text: str, name: str) -> tuple[Optional[PolicyEngine], list[Budget]]:
    problems: list[str] = []
    engine, budgets = None, []
    try:
        engine = load_engine()
    except PolicyFileError as exc:
        problems.append(str(exc))
    try:
        budgets = parse_budgets(text, name)
    except PolicyFileError as exc:
        problems.append(str(exc))
    if problems:
        raise PolicyFileError("\n".join(problems))
    return engine, budgets


def load_policy_text(text: str, name: str) -> tuple[PolicyEngine, list[Budget]]:
    """``PolicyEngine.from_text`` and the file's budgets; every problem of both in one error."""
    return _together(lambda: PolicyEngine.from_text(text, name), text, name)


def load_policy_path(path: Optional[str]) -> tuple[PolicyEngine, list[Budget]]:
    """``PolicyEngine.load`` (the catalogue alone without a path) and the file's budgets."""
    if path is None:
        return PolicyEngine.load(), []
    name = os.fspath(path)
    return _together(lambda: PolicyEngine.load(custom_path=name), _read(name), name)


def check_budget_ids(ledger, budgets: list[Budget], name: str) -> None:
    """Refuse a file whose budget ids are taken by budgets created through the API."""
    taken = ledger.file_conflicts(budgets)
    if taken:
        raise PolicyFileError("\n".join(
            f"{name}: budget id '{budget_id}' is already a budget created through the API "
            "(delete that one or rename this one)" for budget_id in taken
        ))
