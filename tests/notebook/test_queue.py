"""ReviewerQueue against a small fake review console (the view's only collaborator).

Clicks are the messages the browser sends (ui/static/queue.js): one per click, carrying the selected
request ids and the comment.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
from ipywidgets.widgets.tests.utils import setup_test_comm, teardown_test_comm

from axonflow_notebook.core.records import ApprovalRequestRecord
from axonflow_notebook.notebook.ui import ReviewerQueue, queue_text
from axonflow_notebook.testing.inert import assert_inert, assert_inert_markdown, assert_no_math_html

XSS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>',
       "[click](javascript:alert(1))", "user\u202egnp.exe", "wire $2,500 plus a $30 fee",
       "\\(\\d+\\)"]


@pytest.fixture(autouse=True)
def comm_stubs():
    setup_test_comm()
    yield
    teardown_test_comm()


def at(delta_s: float) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=delta_s)


def request(rid, query="Wire $50,000 to ACME", policy="fin-wire-transfer", severity="high",
            name="") -> ApprovalRequestRecord:
    return ApprovalRequestRecord(
        request_id=rid, status="pending", original_query=query, policy_id=policy,
        policy_name=name, trigger_reason="amount", severity=severity, client_id="nb",
        user_id=None, created_at=at(-125), expires_at=at(3600))


class FakeConsole:
    """Async console: a pending list that approve/reject shrink; failures on demand."""

    def __init__(self, rows, fail=()):
        self.pending = {r.request_id: r for r in rows}
        self.decisions = []
        self.fail = set(fail)
        self.list_calls = 0

    async def list_queue(self, status="pending", limit=50, offset=0):
        self.list_calls += 1
        items = list(self.pending.values())[offset:offset + limit]
        return items, len(self.pending)

    async def _decide(self, action, request_id, reviewer_id, reviewer_email, comment):
        if request_id in self.fail:
            raise RuntimeError("409 already decided")
        self.decisions.append((action, request_id, reviewer_id, reviewer_email, comment))
        self.pending.pop(request_id, None)

    async def approve(self, request_id, reviewer_id, reviewer_email, comment=""):
        await self._decide("approve", request_id, reviewer_id, reviewer_email, comment)

    async def reject(self, request_id, reviewer_id, reviewer_email, comment=""):
        await self._decide("reject", request_id, reviewer_id, reviewer_email, comment)


def send(queue, content):
    """What the browser sends (a click on Approve / Reject / Refresh)."""
    queue.widget._handle_custom_msg(content, [])


async def settle(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert condition()


async def test_lists_pending_requests_with_preview_policy_severity_age():
    console = FakeConsole([request("r-1"), request("r-2", "Delete all customer rows", "sql-drop",
                                                   "critical")])
    queue = ReviewerQueue(console, "rita", "rita@example.com", refresh_s=60)
    await queue.refresh()
    queue.close()
    rows = queue.widget.rows
    assert [r["request_id"] for r in rows] == ["r-1", "r-2"]
    first = rows[0]
    assert first["query"] == "Wire $50,000 to ACME" and first["policy"] == "fin-wire-transfer"
    assert first["severity"] == "high" and first["severity_tone"] == "bad"
    assert 124 <= first["age_s"] <= 130 and 3590 <= first["expires_in_s"] <= 3600
    assert rows[1]["severity_tone"] == "bad" and "2 pending" in queue.widget.title
    assert queue.widget.can_decide


async def test_a_click_approves_the_selection_with_the_full_comment():
    console = FakeConsole([request("r-1"), request("r-2"), request("r-3")])
    queue = ReviewerQueue(console, "rita", "rita@example.com", refresh_s=60)
    await queue.refresh()
    reset = queue.widget.reset
    send(queue, {"type": "decide", "action": "approve", "request_ids": ["r-1", "r-3"],
                 "comment": "ok for Q3, PO 4711 matches"})
    await settle(lambda: len(console.decisions) == 2 and not queue.widget.busy)
    queue.close()
    assert console.decisions == [
        ("approve", "r-1", "rita", "rita@example.com", "ok for Q3, PO 4711 matches"),
        ("approve", "r-3", "rita", "rita@example.com", "ok for Q3, PO 4711 matches")]
    assert [r["request_id"] for r in queue.widget.rows] == ["r-2"]
    assert "2 requests approved" in queue.widget.status["text"]
    assert queue.widget.reset == reset + 1  # the browser clears its comment and selection


async def test_reject_and_a_failure_is_reported():
    console = FakeConsole([request("r-1"), request("r-2")], fail={"r-2"})
    queue = ReviewerQueue(console, "rita", "", refresh_s=60)
    await queue.refresh()
    await queue.decide("reject", ["r-1", "r-2"], "")
    queue.close()
    assert [d[:2] for d in console.decisions] == [("reject", "r-1")]
    status = queue.widget.status
    assert "1 request rejected" in status["text"] and "409 already decided" in status["text"]
    assert status["tone"] == "bad"


async def test_decide_runs_once_at_a_time():
    console = FakeConsole([request("r-1"), request("r-2")])
    queue = ReviewerQueue(console, "rita", "", refresh_s=60)
    await queue.refresh()
    await asyncio.gather(queue.decide("approve", ["r-2"], ""), queue.decide("approve", ["r-2"], ""))
    queue.close()
    assert [d[1] for d in console.decisions] == ["r-2"]


async def test_refreshes_itself_on_the_running_loop_and_stops_on_close():
    console = FakeConsole([request("r-1")])
    queue = ReviewerQueue(console, "rita", "", refresh_s=0.05)
    await asyncio.sleep(0.3)
    calls = console.list_calls
    assert calls >= 3 and len(queue.widget.rows) == 1
    queue.close()
    await asyncio.sleep(0.2)
    assert console.list_calls == calls


async def test_click_from_a_thread_is_handed_to_the_loop():
    console = FakeConsole([request("r-1")])
    queue = ReviewerQueue(console, "rita", "", refresh_s=60)
    await queue.refresh()
    await asyncio.to_thread(send, queue, {"type": "decide", "action": "approve",
                                          "request_ids": ["r-1"], "comment": ""})
    await settle(lambda: bool(console.decisions))
    queue.close()
    assert [d[1] for d in console.decisions] == ["r-1"]


def test_without_a_running_loop_clicks_run_on_the_core_loop():
    """No kernel loop (a script): no auto-refresh, and a click runs on the core's background
    loop, never on a thread of the queue's own."""
    import threading

    console = FakeConsole([request("r-1")])
    queue = ReviewerQueue(console, "rita", "")
    assert queue._task is None
    asyncio.run(queue.refresh())
    before = {t.name for t in threading.enumerate()}
    send(queue, {"type": "decide", "action": "approve", "request_ids": ["r-1"], "comment": "y"})
    deadline = time.monotonic() + 5
    while not console.decisions and time.monotonic() < deadline:
        time.sleep(0.02)
    assert console.decisions[0][:2] == ("approve", "r-1")
    assert not [n for n in {t.name for t in threading.enumerate()} - before if "queue" in n]
    queue.close()


async def test_cannot_decide_disables_the_buttons_with_the_reason():
    console = FakeConsole([request("r-1")])
    queue = ReviewerQueue(console, "rita", "", refresh_s=60, can_decide=False,
                          disabled_reason="the requester cannot approve its own request")
    await queue.refresh()
    await queue.decide("approve", ["r-1"], "")
    queue.close()
    assert not queue.widget.can_decide
    assert "cannot approve its own request" in queue.widget.status["text"]
    assert console.decisions == []


async def test_unreachable_console_is_reported():
    class Down(FakeConsole):
        async def list_queue(self, **kw):
            raise ConnectionError("connection refused")

    queue = ReviewerQueue(Down([]), "rita", "", refresh_s=60)
    await queue.refresh()
    queue.close()
    assert "Could not load the queue" in queue.widget.status["text"]
    assert "connection refused" in queue.widget.status["text"]


async def test_widget_bundle_carries_the_queue_as_a_table():
    console = FakeConsole([request("r-1", name="Wire transfers")])
    queue = ReviewerQueue(console, "rita", "", refresh_s=60)
    await queue.refresh()
    data, _ = queue.widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "<table" in data["text/html"] and "Wire transfers" in data["text/html"]
    assert "| Request |" in data["text/markdown"] and "r-1" in data["text/plain"]
    assert "VBox(" not in data["text/plain"]
    queue.close()


async def test_display_follows_the_rows_and_ends_as_a_snapshot(monkeypatch):
    """Shown under its own display id: updated when the listed requests change, and replaced by
    the static table when the queue closes."""
    import IPython.display

    published = []

    class Handle:
        def update(self, data, metadata=None, raw=False):
            published.append(("update", data))

    def fake_display(data, metadata=None, raw=False, display_id=None):
        published.append(("display", data))
        return Handle()

    monkeypatch.setattr(IPython.display, "display", fake_display)
    console = FakeConsole([request("r-1")])
    queue = ReviewerQueue(console, "rita", "", refresh_s=60)
    queue.widget._ipython_display_()
    await queue.refresh()
    await queue.refresh()  # same rows: no new bundle
    console.pending["r-2"] = request("r-2")
    await queue.refresh()
    queue.close()
    kinds = [k for k, _ in published]
    assert kinds == ["display", "update", "update", "update"]
    assert "application/vnd.jupyter.widget-view+json" not in published[-1][1]
    assert "r-2" in published[-1][1]["text/plain"]


@pytest.mark.parametrize("payload", XSS)
def test_rows_and_fallback_are_inert(payload):
    queue = ReviewerQueue(FakeConsole([]), payload, "", can_decide=True)
    queue.render([request(payload, payload, payload, payload, payload)])
    assert "\u202e" not in str(queue.widget.rows) + queue.widget.title
    data, _ = queue.fallback()._repr_mimebundle_()
    assert_inert(data["text/html"])
    assert_no_math_html(data["text/html"])
    assert_inert_markdown(data["text/markdown"])
    queue.close()


def test_queue_text_for_terminals():
    text = queue_text([request("r-1"), request("r-2", "Delete rows", "sql-drop", "critical")])
    assert text.startswith("AxonFlow: 2 pending approval requests:")
    assert "r-1" in text and "fin-wire-transfer" in text and "critical" in text
    assert "2m 05s" in text and "Delete rows" in text
    assert queue_text([]) == "AxonFlow: no pending approval requests."


async def test_a_new_queue_stops_the_last_one_and_unload_stops_the_new_one():
    """One refresh task per kernel: `%axonflow queue` again retires the older live queue (its
    cell keeps the static snapshot) and `%unload_ext` (NotebookRuntime.close) stops the last."""
    from axonflow_notebook.notebook.calls.backend import BackendSettings
    from axonflow_notebook.notebook.calls.runtime import NotebookRuntime

    runtime = NotebookRuntime(BackendSettings(), say=lambda text: None)
    first = ReviewerQueue(FakeConsole([request("r-1")]), "rita", "", refresh_s=0.05)
    runtime.show_queue(first)
    await settle(lambda: first.widget.rows)
    second = ReviewerQueue(FakeConsole([request("r-2")]), "rita", "", refresh_s=0.05)
    runtime.show_queue(second)
    calls = first.console.list_calls
    await asyncio.sleep(0.2)
    assert first.console.list_calls == calls and first._task is None  # the older one polls no more
    assert second.console.list_calls > 1
    runtime.close()
    calls = second.console.list_calls
    await asyncio.sleep(0.2)
    assert second.console.list_calls == calls and second._task is None
