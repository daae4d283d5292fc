"""AxonFlow routes the SDK (axonflow 9.5) has no method for, sent through the SDK client.

`client._request` is the SDK client's own request machinery (axonflow/client.py): its
base URL, credentials, transport and error mapping, so these calls authenticate and
fail exactly as the SDK's own methods do. No second HTTP client is built.

- `POST /api/v1/hitl/expire`: AxonFlow's HITL sweep (`ExpireStale` in AxonFlow's
  platform/agent/hitl/handler.go, https://github.com/getaxonflow/axonflow), which
  expires every pending request past its `expires_at`. With the body
  `{"request_ids": [...]}` the embedded agent also expires those requests at once; a
  real AxonFlow ignores the body, so there an abandoned request is expired by the
  sweep once its `expires_at` (set to the waiter's deadline) has passed.
- `PUT /api/v1/local/policies`: the embedded agent's live policy reload. A real
  AxonFlow does not offer it; `RouteUnavailable` says so.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from .records import PolicyChange
from .sdk_protocol import AxonFlowClient
from .sdk_records import policy_change

EXPIRE_PATH = "/api/v1/hitl/expire"
LOCAL_POLICIES_PATH = "/api/v1/local/policies"


class RouteUnavailable(RuntimeError):
    """The AxonFlow at this endpoint does not offer the route."""


class PolicyReloadRejected(ValueError):
    """The policy text was refused; `problems` holds one line per problem."""

    def __init__(self, problems: List[str]) -> None:
        self.problems = problems
        super().__init__("policies not reloaded: " + "; ".join(problems))


def _status_and_body(exc: BaseException) -> tuple:
    """The HTTP status and JSON body behind an SDK error (None, None if there was none)."""
    response = getattr(exc.__cause__, "response", None)
    if response is None:
        return None, None
    try:
        body = response.json()
    except ValueError:
        body = None
    return response.status_code, body


async def expire_requests(client: AxonFlowClient, request_ids: Sequence[str]) -> int:
    """Expire pending HITL requests now; returns how many AxonFlow expired."""
    body = await client._request("POST", EXPIRE_PATH, json_data={"request_ids": list(request_ids)})
    data = body.get("data") if isinstance(body, dict) else None
    return int((data or {}).get("expired_count", 0) or 0)


async def reload_policies(client: AxonFlowClient, endpoint: str, yaml_text: str, source: str,
                          *, dry_run: bool = False, merge: bool = False) -> PolicyChange:
    """`merge`: upsert the text's policies by id into the set in force instead of replacing it."""
    payload: Dict[str, Any] = {"yaml": yaml_text, "source": source, "dry_run": dry_run}
    if merge:
        payload["merge"] = True
    return await _policies_call(client, endpoint, "PUT", payload)


async def current_policies(client: AxonFlowClient, endpoint: str) -> PolicyChange:
    return await _policies_call(client, endpoint, "GET", None)


async def _policies_call(client: AxonFlowClient, endpoint: str, method: str,
                         payload: Optional[Dict[str, Any]]) -> PolicyChange:
    from axonflow.exceptions import AxonFlowError

    try:
        body = await client._request(method, LOCAL_POLICIES_PATH, json_data=payload)
    except AxonFlowError as exc:
        status, answer = _status_and_body(exc)
        if status in (404, 405, 501):
            raise RouteUnavailable(
                f"the AxonFlow at {endpoint} does not offer live policy reload ({method} {LOCAL_POLICIES_PATH} "
                "is the embedded agent's route); change its policies through AxonFlow itself") from None
        if status == 400:
            error = answer.get("error") if isinstance(answer, dict) else None
            raise PolicyReloadRejected([line for line in str(error or exc).splitlines() if line.strip()]) from None
        raise
    data = body.get("data", body) if isinstance(body, dict) else {}
    return policy_change(data)


__all__ = ["expire_requests", "reload_policies", "current_policies", "RouteUnavailable", "PolicyReloadRejected"]
