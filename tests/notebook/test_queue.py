"""ReviewerQueue against a small fake review facade (the view's only collaborator)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest
from ipywidgets.widgets.tests.utils import setup_test_comm, teardown_test_comm

from axonflow_notebook.notebook.queue_view import ReviewerQueue, queue_rows

from test_render import XSS, assert_inert  # same directory (pytest prepends it)


@pytest.fixture(autouse=True)
def comm_stubs():
    setup_test_comm()
    yield
    teardown_test_comm()


def iso(delta_s: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=delta_s)).isoformat()


def request(rid, query="Wire $50,000 to ACME", policy="fin-wire-transfer", severity="high"):
    return {"request_id": rid, "original_query": query, "triggered_policy_id": policy,
            "triggered_policy_name": None, "severity": severity, "status": "pending",
            "created_at": iso(-125), "expires_at": iso(3600)}


class FakeConsole:
    """Async facade: a pending list that approve/reject shrink; failures on demand."""

    def __init__(self, rows, fail=()):
        self.pending = {r["request_id"]: r for r in rows}
        self.decisions = []
        self.fail = set(fail)
        self.list_calls = 0

    async def list_queue(self, status="pending", limit=50, offset=0):
        self.list_calls += 1
        items = list(self.pending.values())[offset:offset + limit]
        return {"items": items, "total": len(self.pending)}

    async def _decide(self, action, request_id, reviewer_id, reviewer_email, comment):
        if request_id in self.fail:
            raise RuntimeError("409 already decided")
        self.decisions.append((action, request_id, reviewer_id, reviewer_email, comment))
        self.pending.pop(request_id, None)

    async def approve(self, request_id, reviewer_id, reviewer_email, comment=""):
        await self._decide("approve", request_id, reviewer_id, reviewer_email, comment)

    async def reject(self, request_id, reviewer_id, reviewer_email, comment=""):
        await self._decide("reject", request_id, reviewer_id, reviewer_email, comment)


class SyncConsole(FakeConsole):
    def list_queue(self, status="pending", limit=50, offset=0):
        self.list_calls += 1
        return list(self.pending.values())

    def approve(self, request_id, reviewer_id, reviewer_email, comment=""):
        self.decisions.append(("approve", request_id, reviewer_id, reviewer_email, comment))
        self.pending.pop(request_id, None)


async def test_lists_pending_requests_with_preview_policy_severity_age():
    console = FakeConsole([request("r-1"), request("r-2", "Delete all customer rows", "sql-drop",
                                                   "critical")])
    queue = ReviewerQueue(console, "rita", "rita@example.com", refresh_s=60)
    await queue.refresh()
    queue.close()
    assert len(queue.table.children) == 2
    first = queue.table.children[0].children[1].value
    for text in ("Wire $50,000 to ACME", "fin-wire-transfer", "high", "2m 05s", "r-1"):
        assert text in first
    assert "critical" in queue.table.children[1].children[1].value
    assert "2 pending" in queue.title.value
    assert queue.approve_button.disabled  # nothing selected yet


async def test_approve_a_selection_with_comment_then_refresh():
    console = FakeConsole([request("r-1"), request("r-2"), request("r-3")])
    queue = ReviewerQueue(console, "rita", "rita@example.com", refresh_s=60)
    await queue.refresh()
    queue._boxes["r-1"].value = True
    queue._boxes["r-3"].value = True
    assert not queue.approve_button.disabled
    queue.comment.value = "ok for Q3"
    await queue.decide("approve")
    queue.close()
    assert console.decisions == [("approve", "r-1", "rita", "rita@example.com", "ok for Q3"),
                                 ("approve", "r-3", "rita", "rita@example.com", "ok for Q3")]
    assert list(queue._boxes) == ["r-2"] and len(queue.table.children) == 1
    assert "2 requests approved" in queue.status.value and queue.comment.value == ""


async def test_reject_all_and_a_failure_is_reported():
    console = FakeConsole([request("r-1"), request("r-2")], fail={"r-2"})
    queue = ReviewerQueue(console, "rita", "", refresh_s=60)
    await queue.refresh()
    queue.select_all.value = True
    await queue.decide("reject")
    queue.close()
    assert [d[:2] for d in console.decisions] == [("reject", "r-1")]
    assert "1 request rejected" in queue.status.value and "409 already decided" in queue.status.value


async def test_selection_survives_refresh_and_decide_runs_once_at_a_time():
    console = FakeConsole([request("r-1"), request("r-2")])
    queue = ReviewerQueue(console, "rita", "", refresh_s=60)
    await queue.refresh()
    queue._boxes["r-2"].value = True
    await queue.refresh()
    assert queue.selected() == ["r-2"]
    await asyncio.gather(queue.decide("approve"), queue.decide("approve"))
    queue.close()
    assert [d[1] for d in console.decisions] == ["r-2"]


async def test_refreshes_itself_on_the_running_loop_and_stops_on_close():
    console = FakeConsole([request("r-1")])
    queue = ReviewerQueue(console, "rita", "", refresh_s=0.05)
    await asyncio.sleep(0.3)
    calls = console.list_calls
    assert calls >= 3 and len(queue.table.children) == 1
    queue.close()
    await asyncio.sleep(0.2)
    assert console.list_calls == calls


async def test_click_from_a_thread_is_handed_to_the_loop():
    console = FakeConsole([request("r-1")])
    queue = ReviewerQueue(console, "rita", "", refresh_s=60)
    await queue.refresh()
    queue._boxes["r-1"].value = True
    await asyncio.to_thread(queue.approve_button.click)
    for _ in range(50):
        if console.decisions:
            break
        await asyncio.sleep(0.02)
    queue.close()
    assert [d[1] for d in console.decisions] == ["r-1"]


def test_sync_facade_without_a_running_loop():
    console = SyncConsole([request("r-1")])
    queue = ReviewerQueue(console, "rita", "")
    assert queue._task is None  # no loop: no background refresh
    asyncio.run(queue.refresh())
    queue._boxes["r-1"].value = True
    queue.approve_button.click()  # no loop: decided on a short-lived thread
    deadline = time.monotonic() + 5
    while not console.decisions and time.monotonic() < deadline:
        time.sleep(0.02)
    assert console.decisions[0][:2] == ("approve", "r-1")


async def test_cannot_decide_disables_buttons_with_the_reason():
    console = FakeConsole([request("r-1")])
    queue = ReviewerQueue(console, "rita", "", refresh_s=60, can_decide=False,
                          disabled_reason="the requester cannot approve its own request")
    await queue.refresh()
    queue._boxes["r-1"].value = True
    await queue.decide("approve")
    queue.close()
    assert queue.approve_button.disabled and queue.reject_button.disabled
    assert "cannot approve its own request" in queue.status.value
    assert console.decisions == []


async def test_unreachable_console_is_reported():
    class Down(FakeConsole):
        async def list_queue(self, **kw):
            raise ConnectionError("connection refused")

    queue = ReviewerQueue(Down([]), "rita", "", refresh_s=60)
    await queue.refresh()
    queue.close()
    assert "Could not load the queue" in queue.status.value and "connection refused" in queue.status.value


def test_queue_rows_accepts_sdk_pages_and_models():
    class Row:
        def __init__(self, rid):
            self.request_id = rid

        def model_dump(self):
            return {"request_id": self.request_id}

    class Page:
        items = [Row("a"), Row("b")]
        total = 7

    assert queue_rows(Page()) == ([{"request_id": "a"}, {"request_id": "b"}], 7)
    assert queue_rows([{"request_id": "x"}]) == ([{"request_id": "x"}], 1)
    assert queue_rows(None) == ([], 0)


@pytest.mark.parametrize("payload", XSS)
def test_rows_are_inert(payload):
    queue = ReviewerQueue(FakeConsole([]), payload, "", can_decide=True)
    queue.render([request(payload, payload, payload, payload) | {"triggered_policy_name": payload,
                                                                  "created_at": payload}])
    for html in [queue.title.value, queue.status.value] + \
            [line.children[1].value for line in queue.table.children]:
        assert_inert(html)


def test_sdk_queue_page_renders():
    from axonflow.hitl import HITLApprovalRequest, HITLQueueListResponse

    fields = dict(request_id="r-9", org_id="o", tenant_id="t", client_id="c",
                  original_query="Wire it", request_type="llm_chat",
                  triggered_policy_id="fin-wire-transfer", triggered_policy_name="Wire transfers",
                  trigger_reason="amount", severity="high", status="pending",
                  expires_at=iso(600), created_at=iso(-30), updated_at=iso(-30))
    page = HITLQueueListResponse(items=[HITLApprovalRequest(**fields)], total=1, has_more=False)
    queue = ReviewerQueue(FakeConsole([]), "rita", "")
    queue.render(*queue_rows(page))
    html = queue.table.children[0].children[1].value
    assert "Wire transfers" in html and "30s" in html and ("10m 00s" in html or "9m 59s" in html)
