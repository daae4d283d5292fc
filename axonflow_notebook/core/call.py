"""The mutable facts of one governed call, shared by its stages."""

from __future__ import annotations

from typing import Any, AsyncContextManager, Dict, List, Optional, Protocol

from .emitter import Emitter
from .events import CallFailed

# Tags a governed LiteLLM call, so audit-only callback mode (callback.py) never audits it twice.
GOVERNED_KEY = "_axonflow_governed"
CONTEXT_KEY = "_axonflow_context_id"


class CallPacing(Protocol):
    """How a call shares its caller's flow control (a batch row's slot and rate: core/batch/flow.py)."""

    def held(self) -> AsyncContextManager[None]:
        """Around the wait for a reviewer: the call gives its slot back meanwhile."""

    async def before_llm(self) -> None:
        """Just before LiteLLM is called (requests and tokens per minute)."""


class GovernedCall:
    __slots__ = ("emit", "stage", "policies", "context_id", "model", "messages", "simulated", "user_token",
                 "defer_audit", "request_context", "pacing", "provenance", "policy_version")

    def __init__(self, emit: Emitter, *, model: str, messages: Any, user_token: str,
                 defer_audit: bool = False, request_context: Optional[Dict[str, Any]] = None,
                 pacing: Optional[CallPacing] = None, provenance: Optional[Dict[str, Any]] = None) -> None:
        self.emit = emit
        self.stage = "pre_check"
        self.policies: List[str] = []
        self.context_id: Optional[str] = None
        self.model = model
        self.messages = messages
        self.simulated = False
        self.user_token = user_token
        # True: the caller gets the answer at once and the audit is delivered in a task of
        # its own (completion/acompletion); False: the call ends with the audit recorded
        # (govern/agovern, whose result carries the audit id).
        self.defer_audit = defer_audit
        # Extra keys for the HITL request's `request_context` and the audit's metadata (a batch
        # row's batch id and index, so reviewers and the trail can group a batch's rows).
        self.request_context = request_context
        self.pacing = pacing
        self.provenance = provenance  # where the call came from (provenance.py), captured at its start
        self.policy_version: Optional[str] = None  # the pre-check's `policy_bundle`

    def provenance_record(self) -> Optional[Dict[str, Any]]:
        """The provenance with the policy version that decided, for the audit's metadata."""
        if self.provenance is None:
            return None
        if self.policy_version:
            return {**self.provenance, "policy_version": self.policy_version}
        return self.provenance

    def report_failure(self, exc: BaseException) -> None:
        emit = self.emit
        if emit.active:
            emit(CallFailed(emit.call_id, stage=self.stage, error_type=type(exc).__name__,
                            message=str(exc)[:500], policies=tuple(self.policies), model=self.model,
                            provenance=self.provenance_record()))


__all__ = ["GovernedCall", "CallPacing", "GOVERNED_KEY", "CONTEXT_KEY"]
