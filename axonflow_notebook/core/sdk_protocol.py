"""The part of the AxonFlow SDK client the core uses, as a typed boundary.

`axonflow.AxonFlow` (axonflow>=9.5) satisfies it; so do the test doubles in
tests/core/core_fakes.py. Results are the SDK's pydantic models; the core reads
them by attribute (pipeline.py) or converts them once (sdk_records.py).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Protocol


class AxonFlowClient(Protocol):
    async def pre_check(self, user_token: str, query: str, data_sources: Optional[List[str]] = None,
                        context: Optional[Dict[str, Any]] = None) -> Any: ...

    async def audit_llm_call(self, context_id: str, response_summary: str, provider: str, model: str,
                             token_usage: Any, latency_ms: int, metadata: Optional[Dict[str, Any]] = None) -> Any: ...

    async def create_hitl_request(self, request: Any) -> Any: ...

    async def get_hitl_request(self, request_id: str) -> Any: ...

    async def close(self) -> None: ...

    # The SDK's own request machinery (base URL, credentials, error mapping), for the AxonFlow
    # routes the SDK has no method for (HITL expire, local policy reload).
    async def _request(self, method: str, path: str, *, json_data: Optional[Dict[str, Any]] = None,
                       extra_headers: Optional[Dict[str, str]] = None, path_id: Optional[str] = None) -> Any: ...


__all__ = ["AxonFlowClient"]
