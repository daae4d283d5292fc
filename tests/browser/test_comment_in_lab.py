"""Issue 11, item 1: a reviewer's comment typed in the in-cell panel is recorded in full.

Before, the card, the audit store and the error all held only its first character: ipywidgets'
frontend syncs a Textarea's next value only after the kernel reports `idle` for the previous
one, and ipykernel 7.4 handles the comm messages of an awaiting cell without publishing
busy/idle. The card now sends the comment inside the click's message (ui/static/call_card.js).
Here a person types at human speed, pauses, leaves the box, and clicks Reject; the stored
comment is read back from the agent through the official SDK and from the cell.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
from pathlib import Path

from playwright.sync_api import expect

from .ui import cell_output, errors, open_notebook, outputs, run_all, run_cell, wait_all_run

SETUP = "%load_ext axonflow_notebook"
HELD = "%%governed -o transfer\nDraft the wire transfer of 2,500 EUR to ACME Ltd for invoice 77."
ENDPOINT = "%axonflow endpoint"
COMMENT = "No PO for invoice 77"
# Development mode labels a decision the requester made on their own request, through the
# reviewer identity: never by changing what the reviewer wrote.
DEV_LABEL = "self-approved, development mode"


def _agent_secret(lab_server, url: str, monkeypatch) -> str:
    """The embedded agent's secret, found as the kernel finds it: the runtime file of the data
    directory, in the Lab's environment."""
    from axonflow_notebook.agent import find_local_agent

    for key, value in lab_server.env.items():
        if key.startswith(("XDG_", "JUPYTER_", "AXONFLOW_RUNTIME_DIR")):
            monkeypatch.setenv(key, value)
    data_dir = Path(lab_server.env["XDG_DATA_HOME"]) / "axonflow-notebook"
    local = find_local_agent(data_dir)
    return local.secret if local is not None and local.url.rstrip("/") == url else ""


def _stored_review(url: str, request_id: str, secret: str) -> tuple:
    from axonflow import AxonFlow
    from axonflow.types import RetryConfig

    async def read() -> tuple:
        client = AxonFlow(endpoint=url, client_id="comment-reader", client_secret=secret,
                          timeout=10.0, retry_config=RetryConfig(max_attempts=1))
        try:
            row = await client.get_hitl_request(request_id)
        finally:
            await client.close()
        return row.review_comment, row.reviewer_id

    # Playwright's sync API runs a loop in this thread: read on a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result(timeout=30)


def test_comment_typed_at_human_speed_is_recorded_in_full(lab_server, page, monkeypatch):
    name = lab_server.write_notebook("comment.ipynb", [SETUP, HELD, ENDPOINT])
    open_notebook(page, lab_server.lab(name))
    run_all(page)

    held = cell_output(page, 1)
    box = held.locator(".axonflow-approval textarea")
    expect(box).to_be_visible(timeout=60_000)
    box.click()
    box.press_sequentially("No PO for", delay=120)  # a person typing …
    page.wait_for_timeout(1500)  # … who stops to think …
    box.press_sequentially(" invoice 77", delay=120)
    page.keyboard.press("Tab")  # … and leaves the box
    page.wait_for_timeout(1000)
    expect(box).to_have_value(COMMENT)
    held.locator(".axonflow-reject").click()
    wait_all_run(page)

    # The cell: the card and the one-line error carry the whole comment.
    expect(held).to_contain_text(f"Comment{COMMENT}", timeout=10_000)
    found = errors(page)
    assert len(found) == 1 and found[0].startswith("cell 1:") and COMMENT in found[0], found
    summary = next(o for o in outputs(page)[1] if "axonflow" in o.get("metadata", {}))
    request_id = summary["metadata"]["axonflow"]["request_id"]

    # The agent: the HITL row, read through the official SDK.
    run_cell(page, 2)
    endpoint = cell_output(page, 2)
    expect(endpoint).to_contain_text("http://127.0.0.1:", timeout=30_000)
    url = re.search(r"http://127\.0\.0\.1:\d+", endpoint.inner_text()).group(0)
    comment, reviewer = _stored_review(url, request_id, _agent_secret(lab_server, url, monkeypatch))
    assert comment == COMMENT, json.dumps(comment)
    assert DEV_LABEL in (reviewer or ""), json.dumps(reviewer)
    expect(held).to_contain_text(DEV_LABEL)  # the card says who decided, as the record does
