"""What a held or blocked card shows as "Reason": the policy's own description, not its action.

AxonFlow's pre-check names the policies that matched, with `require_approval` or a terse block
reason; the description a policy author wrote is in the policy list. It is read once per
backend (and again after a policy reload), on the core's background loop as soon as the backend
starts, so by the time a decision arrives it is usually there; a card never waits more than a
moment for it and falls back to AxonFlow's own reason.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from typing import Any, Dict, Optional

from .sync import submit

log = logging.getLogger(__name__)
WAIT_S = 2.0  # the longest a card waits for the list (it is already loaded in the usual case)


class PolicyDescriptions:
    def __init__(self, console: Any) -> None:
        self._console = console
        self._lock = threading.Lock()
        self._loading: Optional["concurrent.futures.Future[Dict[str, str]]"] = None

    def prefetch(self) -> None:
        """Start reading the policy list (once) without waiting for it."""
        with self._lock:
            if self._loading is None:
                self._loading = submit(self._load())

    def forget(self) -> None:
        """The policy set changed: read it again (now, in the background)."""
        with self._lock:
            self._loading = None
        self.prefetch()

    def describe(self, policy_id: str) -> Optional[str]:
        """The description of `policy_id`, or None (unknown, no description, AxonFlow did not
        answer): the card then shows AxonFlow's own reason."""
        from ...core.runtime import get_runtime

        self.prefetch()
        with self._lock:
            loading = self._loading
        if loading is None:
            return None
        # On the core's loop itself (a background call's events) waiting would only block the
        # load it waits for: take the list if it is there.
        wait = 0 if get_runtime().in_loop_thread() else WAIT_S
        try:
            return loading.result(timeout=wait).get(policy_id)
        except concurrent.futures.TimeoutError:
            return None
        except Exception as exc:  # AxonFlow refused or failed: try again for the next card
            log.debug("AxonFlow: no policy descriptions (%s)", exc)
            with self._lock:
                if self._loading is loading:
                    self._loading = None
            return None

    async def _load(self) -> Dict[str, str]:
        return {p.id: p.description for p in await self._console.list_policies()
                if p.id and p.description}
