"""A policy cell against an AxonFlow without the embedded agent's reload route: its static-policy API.

Each policy of the cell is upserted by id (the `policy_id` AxonFlow shows, sent on create as the
tag `policy_id:<id>` since the SDK's create request has no id field): created when no custom
policy has that id, updated when one has and a field differs, left alone when none does. With
`replace`, custom policies the cell does not name are deleted. A dry run lists the same change
and writes nothing. Requests go through the SDK client (`list_static_policies`,
`delete_static_policy`) and its request machinery for create and update, whose SDK models
cannot carry the `custom` category (axonflow/policies.py `PolicyCategory`).

AxonFlow decides who may write policies: a refusal (401, 403) becomes `PolicyWriteRefused`,
which says what is missing; a refused policy (400, 409) becomes `PolicyReloadRejected`, naming
the policies already applied, since the API applies one policy at a time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .extra_routes import PolicyReloadRejected, _status_and_body
from .records import PolicyChange
from .sdk_protocol import AxonFlowClient
from .sdk_records import field, word

STATIC_PATH = "/api/v1/static-policies"
EFFECTIVE_PATH = "/api/v1/static-policies/effective"
ID_TAG = "policy_id:"
PAGE = 100
# Compared to decide whether a policy changed; `action` is read from `stored_action` when
# AxonFlow reports both (the embedded agent reports the effective action in `action`).
FIELDS = ("name", "description", "category", "pattern", "action", "severity", "priority", "enabled")
DEFAULTS = {"description": "", "category": "custom", "severity": "medium", "priority": 100, "enabled": True}


class PolicyWriteRefused(PermissionError):
    """AxonFlow refused this client's policy write: the message says what is missing."""


def _current(policy: Any, name: str) -> Any:
    if name == "action":
        return word(field(policy, "stored_action") or field(policy, "action"))
    value = field(policy, name)
    return word(value) if name in ("category", "severity") else value


def _wanted(entry: Mapping[str, Any], name: str) -> Any:
    return entry.get(name, DEFAULTS.get(name))


def _differs(policy: Any, entry: Mapping[str, Any]) -> bool:
    return any(_current(policy, name) != _wanted(entry, name) for name in FIELDS)


def _body(entry: Mapping[str, Any]) -> Dict[str, Any]:
    body = {name: _wanted(entry, name) for name in FIELDS}
    if entry.get("validator"):
        body["validator"] = entry["validator"]
    return body


async def _tenant_policies(client: Any) -> List[Any]:
    from axonflow.policies import ListStaticPoliciesOptions, PolicyTier

    found: List[Any] = []
    while True:
        page = await client.list_static_policies(
            ListStaticPoliciesOptions(tier=PolicyTier.TENANT, limit=PAGE, offset=len(found)))
        found.extend(page)
        if len(page) < PAGE:
            return found


def _refusal(exc: BaseException, endpoint: str, client_id: str, has_secret: bool) -> Optional[Exception]:
    status, body = _status_and_body(exc)
    error = body.get("error") if isinstance(body, Mapping) else None
    message = error.get("message") if isinstance(error, Mapping) else (error or str(exc))
    if status in (401, 403) or type(exc).__name__ in ("AuthenticationError", "LegacyPolicyWriteFrozenError"):
        if type(exc).__name__ == "LegacyPolicyWriteFrozenError":
            return PolicyWriteRefused(f"the AxonFlow at {endpoint} no longer accepts static-policy writes "
                                      f"({str(exc)[:200]}); author policies there through its typed-policy API")
        if not has_secret:
            return PolicyWriteRefused(
                f"the AxonFlow at {endpoint} refused to change policies ({status or 401}): no client secret is "
                "configured; set AXONFLOW_CLIENT_SECRET (or %config GovernedMagics.client_secret) for a client "
                "allowed to write policies")
        return PolicyWriteRefused(
            f"the AxonFlow at {endpoint} refused to change policies ({status}): client {client_id!r} may not write "
            f"static policies there ({str(message)[:200]}); use the credentials of a client with policy rights")
    if status in (400, 409, 422):
        return PolicyReloadRejected([line for line in str(message).splitlines() if line.strip()] or [str(exc)])
    return None


async def upsert_static_policies(client: AxonFlowClient, endpoint: str, client_id: str, has_secret: bool,
                                 entries: Sequence[Mapping[str, Any]], *, source: str, dry_run: bool,
                                 replace: bool = False) -> PolicyChange:
    """Put `entries` (policy-file entries, already validated) in force one by one; see the module doc."""
    from axonflow.exceptions import AxonFlowError

    sdk: Any = client
    try:
        existing = {str(field(p, "policy_id") or field(p, "id")): p for p in await _tenant_policies(sdk)}
    except AxonFlowError as exc:
        raise _refusal(exc, endpoint, client_id, has_secret) or exc from None
    wanted = [str(e["id"]) for e in entries]
    added = [e for e in entries if str(e["id"]) not in existing]
    changed = [e for e in entries if str(e["id"]) in existing and _differs(existing[str(e["id"])], e)]
    removed = [pid for pid in existing if pid not in wanted] if replace else []
    applied: List[str] = []
    if not dry_run:
        try:
            for entry in added:
                body = {**_body(entry), "tier": "tenant", "tags": [ID_TAG + str(entry["id"])]}
                await sdk._request("POST", STATIC_PATH, json_data=body)
                applied.append(str(entry["id"]))
            for entry in changed:
                uuid = str(field(existing[str(entry["id"])], "id"))
                await sdk._request("PUT", STATIC_PATH + "/{id}", json_data=_body(entry), path_id=uuid)
                applied.append(str(entry["id"]))
            for pid in removed:
                await sdk.delete_static_policy(str(field(existing[pid], "id")))
                applied.append(pid)
        except AxonFlowError as exc:
            problem = _refusal(exc, endpoint, client_id, has_secret)
            if applied and isinstance(problem, PolicyReloadRejected):
                problem.problems.append(f"already applied before this refusal: {', '.join(applied)}")
                problem.args = ("policies not applied: " + "; ".join(problem.problems),)
            raise problem or exc from None
    version = "" if dry_run else await _version(sdk)  # a dry run's version is known only once applied
    return PolicyChange(version=version, loaded_at=None if dry_run else dt.datetime.now(dt.timezone.utc),
                        source=source, added=tuple(str(e["id"]) for e in added),
                        changed=tuple(str(e["id"]) for e in changed), removed=tuple(removed))


async def _version(client: Any) -> str:
    """The version AxonFlow reports for the effective set (`policy_bundle`), else ""."""
    try:
        body = await client._request("GET", EFFECTIVE_PATH)
    except Exception:
        return ""
    return str(body.get("policy_bundle") or "") if isinstance(body, Mapping) else ""


__all__ = ["upsert_static_policies", "PolicyWriteRefused"]
