"""Helpers of the batch tests (tests/batch/conftest.py has the fixtures)."""

from __future__ import annotations

import time
from typing import Any, Callable

CLIENT = "batch-tests"
PRICED_MODEL = "openai/gpt-4o-mini"  # in LiteLLM's local price map; answered by the loopback server


def llm_kwargs(llm: Any, model: str = PRICED_MODEL) -> dict:
    return {"model": model, "api_base": llm.url + "/v1", "api_key": "sk-test"}


def run(coro: Any) -> Any:
    """A console coroutine, run on the core's loop from the test's thread."""
    from axonflow_notebook.core.runtime import get_runtime

    return get_runtime().run(coro)


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def held_requests(console: Any, batch_id: str) -> list:
    """The pending approval requests of batch `batch_id`, by row index."""
    records, _ = run(console.list_queue(status="pending", limit=500))
    mine = [r for r in records if r.context.get("batch_id") == batch_id]
    return sorted(mine, key=lambda r: r.context.get("batch_index"))
