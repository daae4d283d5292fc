"""Governance profile: which action a matched system policy really takes.

AxonFlow's gateway replaces the stored action of every system policy in the PII, SQLi,
sensitive-data and dangerous-command categories by a per-category action (wire protocol
§2.6(4), §7.2). The default "observe-first" profile warns on PII, SQLi and sensitive data
and blocks dangerous commands and prompt injection. Custom (tenant) policies keep the
action their file declares: a user who writes ``redact`` gets a redaction.
"""

from __future__ import annotations

from typing import Mapping, Optional

from .models import ACTIONS

OBSERVE_FIRST: dict[str, str] = {
    "pii": "warn",
    "sqli": "warn",
    "sensitive_data": "warn",
    "dangerous": "block",
}


def category_group(category: str) -> Optional[str]:
    """The profile group a category belongs to, or None when the profile leaves it alone."""
    if category.startswith("pii-"):
        return "pii"
    return {
        "security-sqli": "sqli",
        "sensitive-data": "sensitive_data",
        "security-dangerous": "dangerous",
    }.get(category)


def resolve_profile(overrides: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """The default profile with ``overrides`` (e.g. ``{"pii": "redact"}``) applied and checked."""
    profile = dict(OBSERVE_FIRST)
    for group, action in (overrides or {}).items():
        if group not in OBSERVE_FIRST:
            raise ValueError(f"unknown profile group {group!r}; expected one of {', '.join(OBSERVE_FIRST)}")
        if action not in ACTIONS:
            raise ValueError(f"profile action for {group!r} must be one of {', '.join(ACTIONS)}, not {action!r}")
        profile[group] = action
    return profile


def effective_action(category: str, stored_action: str, tier: str, profile: Mapping[str, str]) -> str:
    if tier != "system":
        return stored_action
    group = category_group(category)
    return profile[group] if group is not None else stored_action
