"""A budget: what it limits, over which period, and what happens past its limit.

One validation for the three ways a budget arrives (the SDK's ``create_budget`` and
``update_budget``, and the ``budgets:`` section of a policy file), so a field means the same
everywhere and every problem is one message naming the field. Fields and their values are
AxonFlow's (``Budget``, ``BudgetCreate``, ``BudgetUpdate`` in
https://github.com/getaxonflow/axonflow/blob/main/docs/api/orchestrator-api.yaml), with its
defaults: ``on_exceed`` warn, ``alert_thresholds`` [50, 80, 100] when none are given.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any, Optional

SCOPES = ("organization", "team", "agent", "workflow", "user")
PERIODS = ("daily", "weekly", "monthly", "quarterly", "yearly")
ON_EXCEED = ("warn", "block", "downgrade")
DEFAULT_THRESHOLDS = (50, 80, 100)
MAX_LIMIT_USD = 1e9
MAX_SCOPE_ID = 256
API_SOURCE = "api"

CREATE_FIELDS = (
    "id", "name", "scope", "scope_id", "limit_usd", "period", "on_exceed", "alert_thresholds",
    "enabled", "description",
)
UPDATE_FIELDS = ("name", "limit_usd", "on_exceed", "alert_thresholds", "enabled", "description")
_FIXED_FIELDS = ("id", "scope", "scope_id", "period")

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BudgetError(ValueError):
    """A budget that cannot be used; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Budget:
    """One budget as this agent enforces it. ``source`` is ``api`` or the policy file's label."""

    id: str
    name: str
    scope: str
    limit_usd: float
    period: str
    on_exceed: str = "warn"
    alert_thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS
    enabled: bool = True
    scope_id: Optional[str] = None
    description: str = ""
    source: str = API_SOURCE
    created_at: str = ""
    updated_at: str = ""

    @property
    def from_file(self) -> bool:
        return self.source != API_SOURCE

    def to_json(self) -> dict:
        """The SDK's ``Budget`` (plus ``description`` and ``source``, which it ignores)."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "scope": self.scope,
            "limit_usd": self.limit_usd,
            "period": self.period,
            "on_exceed": self.on_exceed,
            "alert_thresholds": list(self.alert_thresholds),
            "enabled": self.enabled,
            "description": self.description,
            "source": self.source,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if self.scope_id is not None:
            out["scope_id"] = self.scope_id
        return out

    @classmethod
    def from_json(cls, data: dict) -> "Budget":
        """A budget as ``to_json`` wrote it (the store's copy; already validated)."""
        return cls(
            id=data["id"], name=data["name"], scope=data["scope"], limit_usd=float(data["limit_usd"]),
            period=data["period"], on_exceed=data["on_exceed"],
            alert_thresholds=tuple(data["alert_thresholds"]), enabled=bool(data["enabled"]),
            scope_id=data.get("scope_id"), description=data.get("description", ""),
            source=data.get("source", API_SOURCE), created_at=data.get("created_at", ""),
            updated_at=data.get("updated_at", ""),
        )


def _present(fields: dict, name: str) -> bool:
    return fields.get(name) is not None


def _check_id(value: Any, problems: list[str]) -> Optional[str]:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        problems.append(
            "id must be 1-128 characters of letters, digits, '_', '-' or '.', starting with a letter or digit"
        )
        return None
    return value


def _check_name(value: Any, problems: list[str]) -> Optional[str]:
    if not isinstance(value, str) or not value.strip() or len(value) > 255 or _CONTROL.search(value):
        problems.append("name must be 1-255 characters, without control characters")
        return None
    return value


def _check_choice(field: str, value: Any, choices: tuple[str, ...], problems: list[str]) -> Optional[str]:
    if not isinstance(value, str) or value not in choices:
        problems.append(f"{field} must be one of {', '.join(choices)}")
        return None
    return value


def _check_scope_id(value: Any, problems: list[str]) -> Optional[str]:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_SCOPE_ID or _CONTROL.search(value):
        problems.append(f"scope_id must be a string of at most {MAX_SCOPE_ID} characters")
        return None
    return value


def _check_limit(value: Any, problems: list[str]) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        problems.append("limit_usd must be a number of US dollars greater than 0")
        return None
    if value <= 0:
        problems.append("limit_usd must be greater than 0")
        return None
    if value > MAX_LIMIT_USD:
        problems.append(f"limit_usd must be at most {MAX_LIMIT_USD:.0f}")
        return None
    return float(value)


def _check_thresholds(value: Any, problems: list[str]) -> Optional[tuple[int, ...]]:
    if not isinstance(value, list) or not all(
        isinstance(t, int) and not isinstance(t, bool) and 1 <= t <= 1000 for t in value
    ):
        problems.append("alert_thresholds must be a list of whole percentages from 1 to 1000, e.g. [50, 80, 100]")
        return None
    return tuple(sorted(set(value))) or DEFAULT_THRESHOLDS


def _check_enabled(value: Any, problems: list[str]) -> Optional[bool]:
    if not isinstance(value, bool):
        problems.append("enabled must be true or false")
        return None
    return value


def _check_description(value: Any, problems: list[str]) -> Optional[str]:
    if not isinstance(value, str) or len(value) > 1000:
        problems.append("description must be a string of at most 1000 characters")
        return None
    return value


def _unknown(fields: dict, known: tuple[str, ...], problems: list[str]) -> None:
    unknown = sorted(str(k) for k in fields if k not in known)
    if unknown:
        problems.append(f"unknown field(s): {', '.join(unknown)} (known: {', '.join(known)})")


def parse_budget(fields: Any, *, source: str = API_SOURCE, now: str = "") -> Budget:
    """A new budget from ``BudgetCreate`` fields (an API body or a policy-file entry).

    Raises ``BudgetError`` listing every problem.
    """
    if not isinstance(fields, dict):
        raise BudgetError([f"must be a mapping of budget fields, not {type(fields).__name__}"])
    problems: list[str] = []
    _unknown(fields, CREATE_FIELDS, problems)
    for required in ("id", "name", "scope", "limit_usd", "period"):
        if not _present(fields, required):
            problems.append(f"{required} is required")
    budget_id = _check_id(fields["id"], problems) if _present(fields, "id") else None
    name = _check_name(fields["name"], problems) if _present(fields, "name") else None
    scope = _check_choice("scope", fields["scope"], SCOPES, problems) if _present(fields, "scope") else None
    limit = _check_limit(fields["limit_usd"], problems) if _present(fields, "limit_usd") else None
    period = _check_choice("period", fields["period"], PERIODS, problems) if _present(fields, "period") else None
    scope_id = _check_scope_id(fields.get("scope_id"), problems)
    on_exceed = "warn"
    if _present(fields, "on_exceed") and fields["on_exceed"] != "":
        on_exceed = _check_choice("on_exceed", fields["on_exceed"], ON_EXCEED, problems) or "warn"
    thresholds = DEFAULT_THRESHOLDS
    if _present(fields, "alert_thresholds"):
        thresholds = _check_thresholds(fields["alert_thresholds"], problems) or DEFAULT_THRESHOLDS
    enabled = True
    if _present(fields, "enabled"):
        enabled = _check_enabled(fields["enabled"], problems)
    description = ""
    if _present(fields, "description"):
        description = _check_description(fields["description"], problems) or ""
    if problems:
        raise BudgetError(problems)
    return Budget(
        id=budget_id, name=name, scope=scope, limit_usd=limit, period=period, on_exceed=on_exceed,
        alert_thresholds=thresholds, enabled=bool(enabled), scope_id=scope_id,
        description=description, source=source, created_at=now, updated_at=now,
    )


def apply_update(budget: Budget, fields: Any, now: str) -> Budget:
    """``budget`` changed by ``BudgetUpdate`` fields; absent or null fields keep their value.

    What a budget counts (scope, scope_id, period) and its id are fixed: a budget that
    counted something else would carry another budget's history.
    """
    if not isinstance(fields, dict):
        raise BudgetError(["the body must be a JSON object of budget fields"])
    problems: list[str] = []
    _unknown(fields, UPDATE_FIELDS + _FIXED_FIELDS, problems)
    for fixed in _FIXED_FIELDS:
        if _present(fields, fixed) and fields[fixed] != getattr(budget, fixed):
            problems.append(f"{fixed} cannot be changed (delete the budget and create it again)")
    changes: dict[str, Any] = {}
    checks = {
        "name": _check_name, "limit_usd": _check_limit, "alert_thresholds": _check_thresholds,
        "enabled": _check_enabled, "description": _check_description,
    }
    for field, check in checks.items():
        if _present(fields, field):
            value = check(fields[field], problems)
            if value is not None:
                changes[field] = value
    if _present(fields, "on_exceed") and fields["on_exceed"] != "":
        value = _check_choice("on_exceed", fields["on_exceed"], ON_EXCEED, problems)
        if value is not None:
            changes["on_exceed"] = value
    if problems:
        raise BudgetError(problems)
    return replace(budget, **changes, updated_at=now)
