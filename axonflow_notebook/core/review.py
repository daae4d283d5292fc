"""GovernanceConsole: a thin, UI-free facade over the SDK for reviewer and
status views, so the notebook layer never imports the axonflow SDK.

Async methods use the logger's SDK client for the running loop (or a client of
their own when built from a config); results are the SDK's pydantic models.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from .clients import ClientPool
from .config import AxonFlowLoggerConfig


class GovernanceConsole:
    def __init__(self, source: Union["AxonFlowLoggerConfig", Any]) -> None:
        """`source` is an `AxonFlowLogger` (shares its clients) or a config (reviewer credentials)."""
        if isinstance(source, AxonFlowLoggerConfig):
            self._logger = None
            self._pool: Optional[ClientPool] = ClientPool(source)
            self.config = source
        else:
            self._logger = source
            self._pool = None
            self.config = source.config

    def _client(self) -> Any:
        return self._pool.get() if self._pool is not None else self._logger.sdk_client()

    @property
    def breaker_state(self) -> Optional[str]:
        return self._logger.breaker_state if self._logger is not None else None

    async def health(self) -> bool:
        return await self._client().health_check()

    async def list_queue(self, status: Optional[str] = "pending", limit: int = 50, offset: int = 0) -> Any:
        from axonflow.hitl import HITLQueueListOptions

        return await self._client().list_hitl_queue(
            HITLQueueListOptions(status=status, limit=limit, offset=offset)
        )

    async def get_request(self, request_id: str) -> Any:
        return await self._client().get_hitl_request(request_id)

    async def approve(self, request_id: str, reviewer_id: str, reviewer_email: str, comment: str = "") -> None:
        from axonflow.hitl import HITLReviewInput

        await self._client().approve_hitl_request(
            request_id, HITLReviewInput(reviewer_id=reviewer_id, reviewer_email=reviewer_email, comment=comment or None)
        )

    async def reject(self, request_id: str, reviewer_id: str, reviewer_email: str, comment: str = "") -> None:
        from axonflow.hitl import HITLReviewInput

        await self._client().reject_hitl_request(
            request_id, HITLReviewInput(reviewer_id=reviewer_id, reviewer_email=reviewer_email, comment=comment or None)
        )

    async def search_audit(self, limit: int = 100, offset: int = 0, **filters: Any) -> Any:
        from axonflow.types import AuditSearchRequest

        return await self._client().search_audit_logs(AuditSearchRequest(limit=limit, offset=offset, **filters))

    async def list_policies(self, page_size: int = 100) -> list:
        """Every effective policy: the API pages (20 by default), so walk all pages."""
        from axonflow.policies import ListStaticPoliciesOptions

        client = self._client()
        policies: list = []
        while True:
            page = await client.list_static_policies(
                ListStaticPoliciesOptions(limit=page_size, offset=len(policies))
            )
            policies.extend(page)
            if len(page) < page_size:
                return policies

    async def aclose(self) -> None:
        """Close the clients this console built (a logger's clients stay the logger's)."""
        if self._pool is not None:
            await self._pool.aclose_all()

    def close(self) -> None:
        """Sync `aclose` (runs on the sync bridge)."""
        from .bridge import get_bridge

        get_bridge().run(self.aclose())


__all__ = ["GovernanceConsole"]
