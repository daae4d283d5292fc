"""One governed call's context: everything the magic decided, frozen and handed down once.

The calls layer reads only this; it never reaches back into the magics object or its settings.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, MutableMapping, Optional, Protocol

from .approvals import DeciderRule, NotebookApprovals
from .backend import Backend
from .runtime import KernelResults
from .simulation import Simulation


class BackendSource(Protocol):
    """Where a call gets its backend: started on first use (see runtime.NotebookRuntime)."""

    def backend(self) -> Backend: ...

    async def abackend(self) -> Backend: ...

    def started_backend(self) -> Optional[Backend]: ...

    def describe_policy(self, policy_id: str) -> Optional[str]: ...

    def starting_text(self) -> str: ...


class ViewKind(enum.Enum):
    CARD = "card"  # the live card, replaced by its static summary
    TERMINAL = "terminal"  # plain lines, one per event (terminal IPython)
    ROW = "row"  # one compact row (a loop of line magics)


@dataclass(frozen=True)
class RequestOptions:
    """What the LiteLLM request carries besides the prompt."""

    system: Optional[str] = None
    temperature: Optional[float] = None
    max_tokens: Optional[int] = None
    stream: bool = False


@dataclass(frozen=True, eq=False)
class ResultBinding:
    """How a result reaches the user: `_governed`, the `-o` name, this kernel's results."""

    namespace: MutableMapping[str, Any]
    name: Optional[str]
    results: KernelResults

    def bind(self, value: Any) -> None:
        for result in value if isinstance(value, list) else [value]:
            self.results.add(result)
        self.namespace["_governed"] = value
        if self.name:
            self.namespace[self.name] = value

    def bind_handle(self, handle: Any) -> None:
        self.namespace["_governed_handle"] = handle


@dataclass(frozen=True, eq=False)
class CallContext:
    model: str
    simulation: Simulation
    user_token: Optional[Any]  # a pydantic SecretStr; None: the core's default user token
    backend: BackendSource
    backend_label: str  # shown until AxonFlow's decision names the endpoint
    decider: DeciderRule
    fmt: str
    binding: ResultBinding
    view: ViewKind
    awaiting: bool  # runs on the kernel's loop, so clicks reach it
    clicks_unavailable: Optional[str]  # why a click could not reach this call (None: it can)
    request: RequestOptions = RequestOptions()
    no_raise: bool = False

    def approvals(self) -> NotebookApprovals:
        def decider() -> Any:
            started = self.backend.started_backend()
            return self.decider.for_backend(started) if started is not None else None

        return NotebookApprovals(lambda: self.backend.backend().approval_console(), decider,
                                 self.clicks_unavailable)

    def token(self) -> Optional[str]:
        if self.user_token is None:
            return None
        return self.user_token.get_secret_value() or None
