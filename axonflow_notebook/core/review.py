"""GovernanceConsole: what reviewer and status views ask AxonFlow, as the project's own records.

A UI-free facade over the SDK, so the notebook never imports the SDK nor guesses at its
shapes: every answer is converted once into the records of records.py (sdk_records.py).
All methods are async and use the logger's SDK client for the running loop (or a client
of the console's own when built from a config, e.g. a reviewer's credentials). From sync
code, run them on the runtime's loop: `get_runtime().run(console.list_queue())`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple, Union

from .budget_console import BudgetMethods, BudgetRequestRefused
from .clients import ClientPool, ensure_sdk
from .config import AxonFlowLoggerConfig
from .extra_routes import PolicyReloadRejected, RouteUnavailable, current_policies, expire_requests, reload_policies
from .records import (
    ApprovalRequestRecord,
    AuditPage,
    DecisionExplanationRecord,
    PolicyChange,
    PolicyRecord,
    PromptTestRecord,
)
from .runtime import get_runtime
from .sdk_protocol import AxonFlowClient
from .sdk_records import approval_record, audit_page, field, policy_record

if TYPE_CHECKING:
    from .logger import AxonFlowLogger

AUDIT_SEARCH_PATH = "/api/v1/audit/search"
POLICY_PAGE_SIZE = 100


class GovernanceConsole(BudgetMethods):  # budgets and usage: budget_console.py
    def __init__(self, source: Union[AxonFlowLoggerConfig, "AxonFlowLogger"]) -> None:
        """`source` is an `AxonFlowLogger` (shares its clients) or a config (e.g. reviewer credentials)."""
        if isinstance(source, AxonFlowLoggerConfig):
            self._logger: Optional["AxonFlowLogger"] = None
            self._pool: Optional[ClientPool] = ClientPool(source)
            self.config = source
        else:
            self._logger = source
            self._pool = None
            self.config = source.config

    async def _client(self) -> AxonFlowClient:
        await ensure_sdk()  # the first call must not stall the caller's loop on the SDK's import
        return self._pool.get() if self._pool is not None else self._logger.sdk_client()  # type: ignore[union-attr]

    @property
    def breaker_state(self) -> Optional[str]:
        return self._logger.breaker_state if self._logger is not None else None

    async def health(self) -> bool:
        client: Any = await self._client()
        return bool(await client.health_check())

    # ----- approvals ------------------------------------------------------

    async def list_queue(self, status: Optional[str] = "pending", limit: int = 50,
                         offset: int = 0) -> Tuple[List[ApprovalRequestRecord], int]:
        """One page of the HITL queue and the total number of matching requests."""
        from axonflow.hitl import HITLQueueListOptions

        client: Any = await self._client()
        page = await client.list_hitl_queue(HITLQueueListOptions(status=status, limit=limit, offset=offset))
        items = [approval_record(item) for item in field(page, "items", [])]
        return items, int(field(page, "total", len(items)))

    async def get_request(self, request_id: str) -> ApprovalRequestRecord:
        client = await self._client()
        return approval_record(await client.get_hitl_request(request_id))

    async def approve(self, request_id: str, reviewer_id: str, reviewer_email: str, comment: str = "") -> None:
        from axonflow.hitl import HITLReviewInput

        client: Any = await self._client()
        await client.approve_hitl_request(request_id, HITLReviewInput(
            reviewer_id=reviewer_id, reviewer_email=reviewer_email, comment=comment or None))

    async def reject(self, request_id: str, reviewer_id: str, reviewer_email: str, comment: str = "") -> None:
        from axonflow.hitl import HITLReviewInput

        client: Any = await self._client()
        await client.reject_hitl_request(request_id, HITLReviewInput(
            reviewer_id=reviewer_id, reviewer_email=reviewer_email, comment=comment or None))

    async def expire(self, request_ids: Sequence[str]) -> int:
        """Expire pending requests now (extra_routes.py says what a real AxonFlow does)."""
        return await expire_requests(await self._client(), list(request_ids))

    # ----- audit and policies ---------------------------------------------

    async def search_audit(self, limit: int = 100, offset: int = 0, **filters: Any) -> AuditPage:
        """One page of AxonFlow's audit trail (filters: those of the SDK's AuditSearchRequest).

        Sent through the SDK client's request machinery rather than `search_audit_logs`,
        whose model drops the fields a trail shows (tokens, cost, audit id, query preview).
        """
        from axonflow.types import AuditSearchRequest

        request = AuditSearchRequest(limit=limit, offset=offset, **filters)
        body: dict = request.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        body["limit"] = limit
        client = await self._client()
        return audit_page(await client._request("POST", AUDIT_SEARCH_PATH, json_data=body), limit, offset)

    async def list_policies(self) -> List[PolicyRecord]:
        """Every effective policy: the API pages, so walk all pages."""
        from axonflow.policies import ListStaticPoliciesOptions

        client: Any = await self._client()
        policies: List[PolicyRecord] = []
        while True:
            page = await client.list_static_policies(
                ListStaticPoliciesOptions(limit=POLICY_PAGE_SIZE, offset=len(policies)))
            policies.extend(policy_record(policy) for policy in page)
            if len(page) < POLICY_PAGE_SIZE:
                return policies

    async def reload_policies(self, yaml_text: str, source: str, dry_run: bool = False, *,
                              merge: bool = False) -> PolicyChange:
        """Replace the policy set in force (the embedded agent's route; `RouteUnavailable` elsewhere);
        with `merge`, upsert the text's policies by id into it instead.

        Raises `PolicyReloadRejected` (one line per problem) when the text is refused.
        """
        return await reload_policies(await self._client(), self.config.endpoint, yaml_text, source,
                                     dry_run=dry_run, merge=merge)

    async def upsert_policies(self, entries: Sequence[Any], *, source: str, dry_run: bool = False,
                              replace: bool = False) -> PolicyChange:
        """Create or update custom policies (policy-file entries) through AxonFlow's static-policy API
        (policy_upsert.py); `PolicyWriteRefused` says what a refused client is missing."""
        from .policy_upsert import upsert_static_policies

        config = self.config
        return await upsert_static_policies(await self._client(), config.endpoint, config.client_id,
                                            bool(config.secret_value()), entries, source=source,
                                            dry_run=dry_run, replace=replace)

    async def test_prompt(self, prompt: str) -> PromptTestRecord:
        """What the pre-check would decide for `prompt`, with every match (no LLM call, no audit)."""
        from .policy_lab import simulate_prompt

        return await simulate_prompt(await self._client(), self.config.endpoint, prompt)

    async def explain(self, decision_id: str) -> DecisionExplanationRecord:
        """Why a call was decided as it was (`decision_id`: its context id or audit id)."""
        from .policy_lab import explain_decision

        return await explain_decision(await self._client(), self.config.endpoint, decision_id)

    async def current_policies(self) -> PolicyChange:
        """Version and source of the policy set in force (the embedded agent's route)."""
        return await current_policies(await self._client(), self.config.endpoint)

    # ----- lifecycle --------------------------------------------------------

    async def aclose(self) -> None:
        """Close the clients this console built (a logger's clients stay the logger's)."""
        if self._pool is not None:
            await self._pool.aclose_all()

    def close(self) -> None:
        """Sync `aclose` (runs on the runtime's loop)."""
        get_runtime().run(self.aclose())


__all__ = ["GovernanceConsole", "PolicyReloadRejected", "RouteUnavailable", "BudgetRequestRefused"]
