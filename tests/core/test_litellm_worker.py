"""Governed calls from two event loops (a notebook's awaited cells on the kernel's loop,
`--background` calls on the runtime's) leave no LiteLLM logging worker behind to be reported as
"Task was destroyed but it is pending!" in the middle of a later cell (core/llm.py)."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading

from axonflow_notebook.core.config import AxonFlowLoggerConfig
from axonflow_notebook.core.logger import AxonFlowLogger


def _loop_thread() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="test-loop", daemon=True).start()
    return loop


def test_calls_from_two_loops_leave_no_pending_litellm_worker(agent, llm, caplog):
    config = AxonFlowLoggerConfig(endpoint=agent.url, client_id="two-loops", client_secret=agent.secret)
    logger = AxonFlowLogger(config)
    loops = [_loop_thread(), _loop_thread()]
    caplog.set_level(logging.ERROR, logger="asyncio")
    try:
        for i in range(6):
            call = logger.acompletion(**llm.litellm_kwargs(),
                                      messages=[{"role": "user", "content": f"hello {i}"}])
            asyncio.run_coroutine_threadsafe(call, loops[i % 2]).result(60)
        for _ in range(3):
            for loop in loops:  # let the cancellations run, then collect what was dropped
                asyncio.run_coroutine_threadsafe(asyncio.sleep(0.1), loop).result(10)
            gc.collect()
        destroyed = [r.getMessage() for r in caplog.records if "Task was destroyed" in r.getMessage()]
        assert destroyed == []
    finally:
        logger.close()
        for loop in loops:
            loop.call_soon_threadsafe(loop.stop)
