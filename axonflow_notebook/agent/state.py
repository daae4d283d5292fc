"""What every handler shares: the policy engine in force, the store, the access rule, activity.

The engine is replaced, never changed: a reload builds a new immutable ``PolicyEngine`` off
the event loop and swaps one reference, so a pre-check already running finishes on the
engine it started with and the next one sees the new set (same URL, same store).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from . import timestamps
from .policy.policy_set import policy_diff


@dataclass(frozen=True)
class PolicyLoad:
    """One load of the policy set: its version, when and from where, and what it changed."""

    version: str
    loaded_at: str
    source: str
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "version": self.version,
            "loaded_at": self.loaded_at,
            "source": self.source,
            "added": list(self.added),
            "changed": list(self.changed),
            "removed": list(self.removed),
        }


BUILT_IN_SOURCE = "built-in catalogue"


class PolicySetChanged(RuntimeError):
    """``reload_policies(expect_version=...)``: another set was put in force first."""


class AgentState:
    """Shared by every request; the engine reference is the only thing a reload replaces."""

    def __init__(self, engine, store, auth, source: Optional[str] = None, *, budgets=None) -> None:
        self.engine = engine
        self.store = store
        self.auth = auth
        self.budgets = budgets  # budgets/ledger.py: the policy file's budgets are reloaded with it
        self.policy_load = PolicyLoad(engine.version, timestamps.now(), source or BUILT_IN_SOURCE)
        # Called on the event loop after every applied reload with (PolicyLoad, policy file
        # text). A listener does its quick part there and may return a callable with its slow
        # part (a SQLite write, a file): that runs on a worker thread, in order, before the
        # reload answers, so pre-checks keep the loop meanwhile.
        self.policy_listeners: list[Callable[[PolicyLoad, str], Optional[Callable[[], None]]]] = []
        self.last_activity = time.monotonic()
        self.in_flight = 0
        self._reload_lock: Optional[asyncio.Lock] = None
        self.lab = None  # the policy lab's state (lab.LabState), set by build_app

    def idle_for(self) -> float:
        """Seconds since the last request ended (0 while one is running)."""
        if self.in_flight:
            return 0.0
        return time.monotonic() - self.last_activity

    async def reload_policies(
        self, text: str, source: str, dry_run: bool, *, expect_version: Optional[str] = None
    ) -> PolicyLoad:
        """Validate ``text`` as a policy file and, unless ``dry_run``, put it in force.

        Raises ``PolicyFileError`` (one line per problem) and changes nothing on failure.
        With ``expect_version`` (a read-modify-write), raises ``PolicySetChanged`` instead
        of applying if the set in force is no longer that version.
        """
        from .budgets.policy_file import check_budget_ids, load_policy_text

        if self._reload_lock is None:
            self._reload_lock = asyncio.Lock()
        async with self._reload_lock:  # one reload at a time, so each diff is against the set in force
            if expect_version is not None and self.engine.version != expect_version:
                raise PolicySetChanged(expect_version)
            loop = asyncio.get_running_loop()
            engine, budgets = await loop.run_in_executor(None, load_policy_text, text, source)
            version = await loop.run_in_executor(None, lambda: engine.version)
            check_budget_ids(self.budgets, budgets, source)
            added, changed, removed = policy_diff(self.engine.policies(), engine.policies())
            load = PolicyLoad(version, timestamps.now(), source, added, changed, removed)
            if dry_run:
                return load
            self.engine = engine
            self.budgets.replace_file_budgets(budgets)
            self.policy_load = load
            slow_parts = []
            for listener in list(self.policy_listeners):
                try:
                    slow = listener(load, text)
                except Exception:  # a listener's failure must not undo a reload that happened
                    continue
                if callable(slow):
                    slow_parts.append(slow)
            for slow in slow_parts:
                try:
                    await loop.run_in_executor(None, slow)
                except Exception:
                    pass
            return load
