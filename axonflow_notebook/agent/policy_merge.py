"""Upsert policies into the custom set in force: ``PUT /api/v1/local/policies`` with ``"merge": true``.

A notebook's policy cell holds one or a few policies; put in force as the whole custom set, it
would silently delete every other custom policy. With ``merge`` the text is validated alone,
exactly as a policy file (one line per problem, led by the source label), then each of its
policies replaces the custom policy of the same id (keeping its place) or is appended, and
each of its budgets likewise by id; every other custom policy, budget and section of the file
in force stays as it was. The merged file goes in force through ``AgentState.reload_policies``
like any reload (one version, calls in flight finish on the set they started with), as a
read-modify-write that starts again if another reload lands between the read and the write,
serialised with the static-policy API's edits (``LabState.edit_lock``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from .. import fast_yaml as yaml  # libyaml when built with it
from .budgets.policy_file import parse_budgets
from .policy import PolicyFileError
from .policy.catalogue import system_entries
from .policy.custom import parse_custom_entries
from .state import PolicySetChanged

_RETRIES = 5


def _upsert(existing: list, incoming: list) -> list:
    """``existing`` with each entry of ``incoming`` replacing the one of its id, or appended."""
    merged = list(existing)
    index = {entry.get("id"): i for i, entry in enumerate(merged) if isinstance(entry, dict)}
    for entry in incoming:
        at = index.get(entry["id"])
        if at is None:
            index[entry["id"]] = len(merged)
            merged.append(entry)
        else:
            merged[at] = entry
    return merged


def validate_alone(text: str, source: str) -> None:
    """The text as a policy file of its own: every problem of its policies and budgets, one line each.

    No engine is built (the merged set builds one when it goes in force)."""
    problems = []
    try:
        parse_custom_entries(text, source, (e.id for e in system_entries()), allow_blank=True)
    except PolicyFileError as exc:
        problems.append(str(exc))
    try:
        parse_budgets(text, source)
    except PolicyFileError as exc:
        problems.append(str(exc))
    if problems:
        raise PolicyFileError("\n".join(problems))


def _document(text: str) -> dict:
    return (yaml.safe_load(text) or {}) if text.strip() else {}


def merged_text(lab, entries: list, incoming: dict) -> str:
    """The policy file in force with ``incoming``'s policies and budgets upserted by id."""
    try:
        document = yaml.safe_load(lab.policy_text or "") or {}
    except yaml.YAMLError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    document["policies"] = _upsert(entries, incoming.get("policies") or [])
    if incoming.get("budgets"):
        document["budgets"] = _upsert(document.get("budgets") or [], incoming["budgets"])
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


async def merge_policies(state, text: str, source: str, dry_run: bool) -> Any:
    """Validate ``text`` alone, then put the merged set in force (or, dry, say what it changes).

    Raises ``PolicyFileError`` (one line per problem) and changes nothing on failure.
    """
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, validate_alone, text, source)
    incoming = await loop.run_in_executor(None, _document, text)  # parsing is CPU work: off the loop
    async with state.lab.edit_lock():
        for _ in range(_RETRIES):
            version = state.engine.version
            entries = state.lab.custom_entries()
            merged = await loop.run_in_executor(None, merged_text, state.lab, entries, incoming)
            try:
                return await state.reload_policies(merged, source, dry_run, expect_version=version)
            except PolicySetChanged:
                continue  # another reload came first: merge into the set now in force
    raise PolicySetChanged("the policy set kept changing while the policies were merged")
