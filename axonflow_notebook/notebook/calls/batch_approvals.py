"""Approve all / Reject all / per row, for a batch's held rows: one AxonFlow decision per request.

Each decision is that request's own approve or reject through the review console, so the audit
trail keeps one decision per row and AxonFlow applies its reviewer rules to each (with an auth
file, a client never approves its own request). Who decides is worked out as for a single call
(approvals.py). The decisions are sent from the core's loop, a few at a time, never from a thread
of our own; the held rows learn the outcome through the core's polling, as with any decision.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Optional, Sequence

from .approvals import DEV_LABEL, Decider, ReviewerSeat
from .sync import submit

log = logging.getLogger(__name__)
AT_ONCE = 8  # decisions in flight together


class BatchApprovals(ReviewerSeat):
    """The `BatchActions` of a batch's approval panel (ui/batch_view.py)."""

    def __init__(self, console: Callable[[], Any], decider: Callable[[], Optional[Decider]],
                 unavailable: Optional[str] = None) -> None:
        super().__init__(console, decider, unavailable)
        self.errors: list = []

    def decide(self, action: str, request_ids: Sequence[str], comment: str,
               failed: Callable[[str, str], None]) -> None:
        """Send one decision per request in the background; `failed(id, why)` for each that did not go."""
        if not self.can_decide or action not in ("approve", "reject") or not request_ids:
            return
        submit(self._send_all(action, list(request_ids), comment, failed))

    async def _send_all(self, action: str, request_ids: list, comment: str,
                        failed: Callable[[str, str], None]) -> None:
        console, decider = self._console(), self.decider
        text = comment.strip()
        if decider.label == DEV_LABEL:
            text = f"{text} ({DEV_LABEL})" if text else DEV_LABEL
        gate = asyncio.Semaphore(AT_ONCE)

        async def one(request_id: str) -> None:
            async with gate:
                try:
                    await getattr(console, action)(request_id, reviewer_id=decider.reviewer_id,
                                                   reviewer_email=decider.reviewer_email, comment=text)
                except Exception as exc:  # 409 decided elsewhere or expired, 403 a reviewer rule
                    log.warning("AxonFlow %s of %s failed: %s", action, request_id, exc)
                    self.errors.append(exc)
                    failed(request_id, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")

        await asyncio.gather(*(one(request_id) for request_id in request_ids))


__all__ = ["BatchApprovals"]
