"""The policy lab's share of the agent's state (``AgentState.lab``).

- Every policy set put in force is recorded in the store, chained, with its policies, so an
  explanation names the version that decided and gives back its evaluation order.
- The text of the policy file in force is kept, so the static-policy API can edit the
  ``policies:`` list of it (read-modify-write) and reload it like ``PUT /api/v1/local/policies``,
  leaving any other section of the file (budgets) as it was.
- Custom policies get what AxonFlow's ``StaticPolicy`` carries beyond the file: creation and
  update times, a version counting changes, and tags.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

from .. import fast_yaml as yaml  # libyaml when built with it
from . import explain, timestamps

_ENTRY_FIELDS = ("id", "name", "category", "pattern", "action", "severity", "priority", "enabled",
                 "description", "validator")


class LabState:
    def __init__(self, state, source: Optional[str]) -> None:
        self.state = state
        self.full_prompts = explain.store_full_prompts()
        self.policy_text = _read(source)
        self.meta: dict[str, dict] = {}
        self._edit_lock: Optional[asyncio.Lock] = None
        for policy in state.engine.policies():
            if policy.tier != "system":
                self.meta[policy.id] = _new_meta(state.policy_load.loaded_at)
        self._record(state.policy_load)
        state.policy_listeners.append(self._on_reload)

    def edit_lock(self) -> asyncio.Lock:
        """Serialises the static-policy API's read-modify-write edits (created on the loop)."""
        if self._edit_lock is None:
            self._edit_lock = asyncio.Lock()
        return self._edit_lock

    def _on_reload(self, load, text: str) -> Callable[[], None]:
        self.policy_text = text
        for pid in load.added:
            self.meta[pid] = _new_meta(load.loaded_at)
        for pid in load.changed:
            meta = self.meta.setdefault(pid, _new_meta(load.loaded_at))
            meta["updated_at"] = load.loaded_at
            meta["version"] += 1
        for pid in load.removed:
            self.meta.pop(pid, None)
        return lambda: self._record(load)  # the SQLite write, off the event loop (state.py)

    def _record(self, load) -> None:
        # The JSON was written with the version, off the event loop (``reload_policies``).
        store = self.state.store
        with store._lock:
            store.chain.policy_load(load.version, load.loaded_at, load.source, self.state.engine.policies_json)

    def policy_json(self, policy) -> dict:
        """``StaticPolicy`` JSON, with the times, version and tags of a custom policy."""
        data = policy.to_static_policy()
        meta = self.meta.get(policy.id) if policy.tier != "system" else None
        if meta is not None:
            data.update(created_at=meta["created_at"], updated_at=meta["updated_at"], version=meta["version"])
            if meta["tags"]:
                data["tags"] = list(meta["tags"])
        return data

    def custom_entries(self) -> list[dict]:
        """The custom policies in force as policy-file entries, in file order."""
        entries = []
        for policy in self.state.engine.policies():
            if policy.tier == "system":
                continue
            entry = {name: getattr(policy, name) for name in _ENTRY_FIELDS}
            entry["action"] = policy.stored_action
            if entry["validator"] is None:
                del entry["validator"]
            entries.append(entry)
        order = {pid: i for i, pid in enumerate(self.meta)}
        return sorted(entries, key=lambda e: order.get(e["id"], len(order)))

    def text_with(self, entries: list[dict]) -> str:
        """The policy file in force with its ``policies:`` list replaced by ``entries``."""
        try:
            document = yaml.safe_load(self.policy_text or "") or {}
        except yaml.YAMLError:
            document = {}
        if not isinstance(document, dict):
            document = {}
        document["policies"] = entries
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def _new_meta(at: str) -> dict:
    return {"created_at": at, "updated_at": at, "version": 1, "tags": []}


def _read(source: Optional[str]) -> Optional[str]:
    if source is None or not os.path.isfile(source):
        return None
    try:
        with open(source, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return None


_HANDOFF_LOCK = threading.Lock()
_handoffs = [0, 0.005]  # reloads running, the switch interval to restore after the last


@contextmanager
def prompt_gil_handoff(interval: float = 0.0002) -> Iterator[None]:
    """While a reload builds its engine on a worker thread, let the event loop thread take
    the GIL back within ``interval`` rather than Python's 5 ms switch interval
    (https://docs.python.org/3/library/sys.html#sys.setswitchinterval), so pre-checks
    arriving during the reload are answered promptly. Restored when the last reload ends."""
    with _HANDOFF_LOCK:
        if _handoffs[0] == 0:
            _handoffs[1] = sys.getswitchinterval()
            sys.setswitchinterval(min(interval, _handoffs[1]))
        _handoffs[0] += 1
    try:
        yield
    finally:
        with _HANDOFF_LOCK:
            _handoffs[0] -= 1
            if _handoffs[0] == 0:
                sys.setswitchinterval(_handoffs[1])


def install(state, source: Optional[str]) -> LabState:
    state.lab = LabState(state, source)
    return state.lab


def now() -> str:
    return timestamps.now()
