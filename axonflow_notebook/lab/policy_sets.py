"""The two policy sets a replay compares: the set in force, and a draft put in force the way a
policy cell would put it (its policies upserted by id into the custom set, or replacing it).

The set in force is the one the user's local agent last put in force (read from its store by
the agent's public `PolicySet.current`), else the built-in catalogue; a draft is validated
alone first, exactly as the agent validates a policy file (one line per problem, led by its
label), so a bad draft is refused with the same message a policy cell would get.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from ..agent import PolicySet
from ..core.journal_store import default_journal_path

Draft = Union[str, "os.PathLike[str]", PolicySet]
_FIELDS = ("id", "name", "category", "pattern", "severity", "priority", "enabled", "description", "validator")


def default_data_dir() -> Path:
    """The data directory of the notebook's local agent and journal (the user data dir)."""
    return default_journal_path().parent


def current_policy_set(current: Any = None, data_dir: Optional[Any] = None) -> PolicySet:
    """`current` as a set: a `PolicySet` as it is, the text of a policy file, a policy file's path;
    None: the set the local agent of `data_dir` last put in force, else the catalogue."""
    if isinstance(current, PolicySet):
        return current
    if isinstance(current, str):
        return PolicySet.from_yaml(current, source="current")
    if isinstance(current, os.PathLike):
        return PolicySet.current(policies=current)
    if current is not None:
        raise TypeError(f"current must be a PolicySet, policy file text or path, not {type(current).__name__}")
    return PolicySet.current(Path(data_dir).expanduser() if data_dir is not None else default_data_dir())


def custom_entries(policy_set: PolicySet) -> List[Dict[str, Any]]:
    """The custom policies of a set as policy-file entries (declared actions, validators kept)."""
    entries = []
    for policy in policy_set.policies:
        if policy.tier == "system":
            continue
        entry = {name: getattr(policy, name) for name in _FIELDS}
        entry["action"] = policy.stored_action
        if entry["validator"] is None:
            del entry["validator"]
        entries.append(entry)
    return entries


def cell_entries(text: str) -> List[Dict[str, Any]]:
    """The policy entries of a policy file's text, as written (not validated; [] when none)."""
    from .. import fast_yaml as yaml  # libyaml when built with it

    try:
        document = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        return []
    entries = document.get("policies") if isinstance(document, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def validated_cell_entries(text: str, source: str) -> List[Dict[str, Any]]:
    """The policies of a policy cell, validated exactly as the agent validates a policy file.

    Raises the agent's `PolicyFileError` (a ValueError): one line per problem, led by `source`.
    """
    PolicySet.from_yaml(text, source=source, include_catalogue=True)  # catalogue ids are taken
    return cell_entries(text)


def declares_budgets(text: str) -> bool:
    from .. import fast_yaml as yaml  # libyaml when built with it

    try:
        document = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        return False
    return isinstance(document, dict) and bool(document.get("budgets"))


def upsert(existing: List[Dict[str, Any]], incoming: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """`existing` with each entry of `incoming` replacing the one of its id (in place) or appended."""
    merged = list(existing)
    index = {entry["id"]: i for i, entry in enumerate(merged)}
    for entry in incoming:
        at = index.get(entry["id"])
        if at is None:
            index[entry["id"]] = len(merged)
            merged.append(entry)
        else:
            merged[at] = entry
    return merged


def draft_text(draft: Union[str, "os.PathLike[str]"]) -> str:
    if isinstance(draft, os.PathLike):
        return Path(draft).expanduser().read_text(encoding="utf-8")
    if isinstance(draft, str):
        return draft
    raise TypeError(f"draft must be policy file text, a path or a PolicySet, not {type(draft).__name__}")


def draft_policy_set(draft: Draft, current: PolicySet, *, replace: bool = False,
                     source: str = "draft") -> PolicySet:
    """The set `draft` would put in force over `current`.

    Raises the agent's `PolicyFileError` (a ValueError, one line per problem) for a bad draft.
    """
    if isinstance(draft, PolicySet):
        return draft
    text = draft_text(draft)
    alone = PolicySet.from_yaml(text, source=source)  # validated as a policy file
    if replace:
        return alone
    from .. import fast_yaml as yaml  # libyaml when built with it

    merged = upsert(custom_entries(current), cell_entries(text))
    return PolicySet.from_yaml(yaml.safe_dump({"policies": merged}, sort_keys=False, allow_unicode=True),
                               source=source)


__all__ = ["current_policy_set", "draft_policy_set", "custom_entries", "cell_entries", "upsert",
           "default_data_dir", "draft_text", "validated_cell_entries", "declares_budgets"]
