"""Exceptions a governed call raises to the application (the names of the LiteLLM integration)."""

from __future__ import annotations

from typing import Iterable, List, Optional


class PolicyDeniedError(Exception):
    """AxonFlow (or its unavailability under fail-closed) stopped the call."""

    def __init__(self, reason: str, policies: Optional[Iterable[str]] = None) -> None:
        self.reason = reason
        self.policies: List[str] = list(policies or [])
        super().__init__(reason)


class ApprovalRejected(PolicyDeniedError):
    """A reviewer rejected the request, it expired server-side, or HITL broke."""


class ApprovalTimeout(PolicyDeniedError):
    """No decision arrived before `approval_max_wait_seconds`; the message says "timed out"."""


__all__ = ["PolicyDeniedError", "ApprovalRejected", "ApprovalTimeout"]
