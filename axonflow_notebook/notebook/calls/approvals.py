"""Approve / Reject from the notebook: who may decide, and sending the decision.

A click may be handled on a subshell thread (JupyterLab + ipykernel 7.0-7.3) or on the kernel
loop, so `approve`/`reject` only hand the console call to the core's background loop and return
(no thread per click). The waiting call notices the decision through the core's HITL polling,
which is also how decisions made in the reviewer queue, `%axonflow approve` or AxonFlow's console
arrive.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .sync import resolve, submit

log = logging.getLogger(__name__)

DEV_LABEL = "self-approved, development mode"
WHERE_TO_APPROVE = "Approve in the reviewer queue (%axonflow queue) or AxonFlow's console"


@dataclass(frozen=True)
class Reviewer:
    """The reviewer identity configured in this notebook (empty: none)."""

    id: str = ""
    email: str = ""


@dataclass(frozen=True)
class DeciderRule:
    """How this notebook decides, whatever the backend turns out to be: the magic knows the
    reviewer identity, the backend says whether it is the local agent and who the requester is."""

    reviewer: Reviewer = Reviewer()

    def for_backend(self, backend: Any, *, own_requests: bool = True) -> "Decider":
        return decider_for(dev_mode=backend.local,
                           requester=backend.client_id if own_requests else None,
                           reviewer=self.reviewer)


@dataclass(frozen=True)
class Decider:
    """Who this notebook decides as, or why it may not decide."""

    can_decide: bool
    label: str
    reviewer_id: str = ""
    reviewer_email: str = ""
    reason: Optional[str] = None


STARTING = Decider(False, "", reason="AxonFlow is starting")


def decider_for(*, dev_mode: bool, requester: Optional[str], reviewer: Reviewer) -> Decider:
    """Development mode: the notebook user self-approves. Otherwise only a configured reviewer,
    and, for this notebook's own requests (`requester` given), not the requester itself."""
    if dev_mode:
        # No e-mail: AxonFlow's record, the card and the terminal then name the decider by this
        # id, which says it was a self-approval (the core shows a reviewer's e-mail first).
        return Decider(True, DEV_LABEL, f"notebook-user ({DEV_LABEL})", "")
    if not reviewer.id:
        return Decider(
            False, "", reason=f"{WHERE_TO_APPROVE}: only a configured reviewer may approve here "
            "(%axonflow connect URL --reviewer ID, or %config GovernedMagics.reviewer_id)"
        )
    if requester is not None and reviewer.id == requester:
        return Decider(
            False, "", reason=f"{WHERE_TO_APPROVE}: the requester ({requester}) cannot approve "
            "its own request"
        )
    return Decider(True, f"reviewer {reviewer.id}", reviewer.id,
                   reviewer.email or f"{reviewer.id}@localhost")


def clicks_unavailable_reason(*, awaiting: bool, background: bool, ipykernel: Optional[tuple]) -> Optional[str]:
    """Why a click could not reach this kernel while the cell waits (None: it can).

    ipykernel >= 7.4 handles comm messages while a cell awaits on the kernel loop; a cell blocked
    in sync code never receives them. A background call waits after the cell has returned, so the
    kernel is idle and clicks arrive everywhere.
    """
    if background:
        return None
    if not awaiting:
        return f"{WHERE_TO_APPROVE}: this cell blocks the kernel while it waits, so it cannot receive clicks"
    if ipykernel is not None and ipykernel < (7, 4):
        return (f"{WHERE_TO_APPROVE}: this kernel cannot receive clicks while a cell waits "
                "(ipykernel < 7.4)")
    return None


def send_decision(console: Any, decider: Decider, action: str, request_id: str, comment: str) -> None:
    """Approve or reject `request_id` through `console` as `decider` (blocking).

    The comment is stored exactly as the reviewer typed it; a self-approval says so through the
    reviewer identity (`decider_for`), which the card and the request record both show."""
    resolve(getattr(console, action)(request_id, reviewer_id=decider.reviewer_id,
                                     reviewer_email=decider.reviewer_email, comment=comment))


class ReviewerSeat:
    """Who may decide from a view, worked out on first use: the console and the decider are
    callables so that a view never starts the backend (a card can be on screen before it has)."""

    def __init__(self, console: Callable[[], Any], decider: Callable[[], Optional[Decider]],
                 unavailable: Optional[str] = None) -> None:
        self._console = console
        self._decider_source = decider
        self._decider: Optional[Decider] = None
        self._unavailable = unavailable

    @property
    def decider(self) -> Decider:
        """Who decides; until the backend has started (no request can exist yet) nobody."""
        if self._decider is None:
            decider = self._decider_source()
            if decider is None:
                return STARTING
            self._decider = decider
        return self._decider

    @property
    def can_decide(self) -> bool:
        return self._unavailable is None and self.decider.can_decide

    @property
    def disabled_reason(self) -> Optional[str]:
        return None if self.can_decide else (self._unavailable or self.decider.reason)

    @property
    def decider_label(self) -> str:
        return self.decider.label


class NotebookApprovals(ReviewerSeat):
    """The `ApprovalActions` the views call when Approve / Reject is clicked.

    Who decides depends on the backend (the local agent or a real AxonFlow), so `decider` and
    `console` are only called once a view asks, and never start the backend: a card can be shown
    before the backend has started (the first cell of a kernel); a request, and so a click, can
    only come once it has."""

    def __init__(self, console: Callable[[], Any], decider: Callable[[], Optional[Decider]],
                 unavailable: Optional[str] = None) -> None:
        super().__init__(console, decider, unavailable)
        self._decided: set[str] = set()
        self._lock = threading.Lock()
        self.errors: list[BaseException] = []

    def approve(self, request_id: str, comment: str) -> None:
        self._submit("approve", request_id, comment)

    def reject(self, request_id: str, comment: str) -> None:
        self._submit("reject", request_id, comment)

    def _submit(self, action: str, request_id: str, comment: str) -> None:
        if not self.can_decide:
            return
        with self._lock:  # a double click, or a click racing another frontend, decides once
            if request_id in self._decided:
                return
            self._decided.add(request_id)
        try:
            console, decider = self._console(), self.decider
        except Exception as exc:
            self._failed(action, request_id, exc)
            return
        submit(self._send(console, decider, action, request_id, comment))

    async def _send(self, console: Any, decider: Decider, action: str, request_id: str,
                    comment: str) -> None:
        try:
            await getattr(console, action)(request_id, reviewer_id=decider.reviewer_id,
                                           reviewer_email=decider.reviewer_email, comment=comment)
        except Exception as exc:
            self._failed(action, request_id, exc)

    def _failed(self, action: str, request_id: str, exc: BaseException) -> None:
        """Shown by the core's polling as "still pending"; a later click may try again."""
        log.warning("AxonFlow %s of %s failed: %s", action, request_id, exc)
        self.errors.append(exc)
        with self._lock:
            self._decided.discard(request_id)
