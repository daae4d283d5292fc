"""This kernel's governed results, for `%axonflow audit`'s "this session" summary."""

from __future__ import annotations

import threading
from typing import Any, List


class Session:
    """Thread-safe list of GovernedResults produced in this kernel (background calls included)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._results: List[Any] = []

    def add(self, result: Any) -> None:
        with self._lock:
            self._results.append(result)

    @property
    def results(self) -> List[Any]:
        with self._lock:
            return list(self._results)

    def clear(self) -> None:
        with self._lock:
            self._results.clear()
