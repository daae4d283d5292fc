"""CallView / CodeCellView fed with core event sequences, checked through widget trait values.

Widgets run on ipywidgets' own comm stubs (no frontend), so every assertion is on the traits a
frontend would receive.
"""

from __future__ import annotations

import threading
import time

import pytest
from ipywidgets.widgets.tests.utils import setup_test_comm, teardown_test_comm

from axonflow_notebook.core.events import (
    ApprovalDecided,
    ApprovalProgress,
    ApprovalRequested,
    AuditRecorded,
    CallFailed,
    CompletionChunk,
    CompletionFinished,
    DecisionMade,
    GovernanceSkipped,
    RedactionApplied,
)
from axonflow_notebook.core.result import GovernedResult
from axonflow_notebook.notebook.text import render_event_text
from axonflow_notebook.notebook.view import CallView, CodeCellView


@pytest.fixture(autouse=True)
def comm_stubs():
    setup_test_comm()
    yield
    teardown_test_comm()


class Actions:
    """The ApprovalActions a view calls; records calls (thread-safe like the real one)."""

    def __init__(self, can_decide=True, reason=None, label="reviewer rita"):
        self.can_decide = can_decide
        self.disabled_reason = reason
        self.decider_label = label
        self.calls = []
        self._lock = threading.Lock()

    def approve(self, request_id, comment):
        with self._lock:
            self.calls.append(("approve", request_id, comment))

    def reject(self, request_id, comment):
        with self._lock:
            self.calls.append(("reject", request_id, comment))


def make_view(actions=None, **kw):
    args = dict(prompt="What is our Q3 revenue?", model="gpt-4o-mini",
                backend="http://127.0.0.1:8080", simulated=False, actions=actions)
    args.update(kw)
    return CallView(**args)


def decision(status="approved", policies=(), reason=None, redaction=False):
    return DecisionMade("c1", status, tuple(policies), reason, "ctx-1", 12.5,
                        requires_redaction=redaction, backend="http://127.0.0.1:8080")


def finished(text="Revenue was **$4.2M**.", simulated=False):
    return CompletionFinished("c1", "gpt-4o-mini", "openai", 11, 7, 18, 0.00021, 420.0,
                              simulated, text)


def held(view, deadline=60.0):
    view.handle(decision("needs_approval", ["fin-wire-transfer"]))
    view.handle(ApprovalRequested("c1", "req-1", None, "fin-wire-transfer", "high", deadline))


def result_of(view, **kw):
    result = GovernedResult(**kw)
    for event in view._events:
        result.record(event)
    return result


# -- decision card ------------------------------------------------------------------------------
@pytest.mark.parametrize("events, title, color", [
    ([decision()], "Allowed", "#2e7d32"),
    ([decision(policies=["pii-email"])], "Allowed with warnings", "#b26a00"),
    ([decision(policies=["pii-ssn"], redaction=True),
      RedactionApplied("c1", True, ("pii-ssn",), "SSN [REDACTED]")], "Allowed — redacted", "#6a1b9a"),
    ([decision("blocked", ["sql-injection"], "SQL injection attempt")], "Blocked", "#c62828"),
    ([decision("needs_approval", ["fin-wire-transfer"])], "Needs approval", "#1565c0"),
    ([GovernanceSkipped("c1", "breaker_open", "pre_check", "3 failures")],
     "Governance skipped — fail-open", "#b26a00"),
])
def test_decision_card_states(events, title, color):
    view = make_view()
    for e in events:
        view.handle(e)
    html = view.decision.value
    assert title in html and color in html
    assert "ctx-1" in html or "Governance skipped" in title
    assert "axonflow-decision" in view.decision._dom_classes


def test_decision_card_details_and_simulated_badge():
    view = make_view(simulated=True)
    view.handle(decision("blocked", ["sql-injection"], "SQL injection attempt"))
    html = view.decision.value
    for text in ("sql-injection", "SQL injection attempt", "ctx-1", "12 ms",
                 "http://127.0.0.1:8080", "simulated", "What is our Q3 revenue?"):
        assert text in html
    assert view.response.layout.display == "none"  # a blocked call has no answer card


def test_skipped_stages_are_visible_everywhere():
    view = make_view()
    view.handle(GovernanceSkipped("c1", "timeout", "pre_check"))
    view.handle(finished())
    view.handle(GovernanceSkipped("c1", "unreachable", "audit", "connection refused"))
    assert "AxonFlow timed out" in view.decision.value
    assert "AxonFlow unreachable" in view.audit.value and "connection refused" in view.audit.value
    assert "#b26a00" in view.audit.value


# -- approval panel -----------------------------------------------------------------------------
def test_approval_panel_shows_request_and_buttons():
    actions = Actions()
    view = make_view(actions)
    assert view.approval.widget.layout.display == "none"
    held(view)
    panel = view.approval
    assert panel.widget.layout.display == "flex"
    assert "axonflow-approval" in panel.widget._dom_classes
    assert "axonflow-approve" in panel.approve_button._dom_classes
    assert "axonflow-reject" in panel.reject_button._dom_classes
    assert panel.approve_button.description == "Approve"
    assert panel.reject_button.description == "Reject"
    assert not panel.approve_button.disabled and not panel.reject_button.disabled
    for text in ("req-1", "fin-wire-transfer", "high", "pending", "Remaining", "1m 00s"):
        assert text in panel.info.value


def test_approval_countdown_ticks_between_events():
    view = make_view(Actions())
    held(view, deadline=30)
    first = view.approval.info.value
    assert "30s" in first
    time.sleep(2.3)
    later = view.approval.info.value
    assert later != first
    assert "28s" in later or "27s" in later
    view.handle(ApprovalProgress("c1", "req-1", "pending", 7, 20.0, 10.0))
    assert "10s" in view.approval.info.value and "Polls" in view.approval.info.value
    view.cancelled("kernel interrupted")


def test_approve_click_calls_actions_once_even_when_double_clicked():
    actions = Actions()
    view = make_view(actions)
    held(view)
    view.approval.comment.value = "looks fine"
    view.approval.approve_button.click()
    view.approval.approve_button.click()
    view.approval.reject_button.click()
    assert actions.calls == [("approve", "req-1", "looks fine")]
    assert view.approval.approve_button.disabled and view.approval.reject_button.disabled
    assert "waiting for AxonFlow to confirm" in view.approval.note.value


def test_concurrent_clicks_from_threads_decide_once():
    actions = Actions()
    view = make_view(actions)
    held(view)
    barrier = threading.Barrier(8)

    def click(button):
        barrier.wait()
        button.click()

    threads = [threading.Thread(target=click, args=(b,)) for b in
               [view.approval.approve_button, view.approval.reject_button] * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(actions.calls) == 1


def test_decided_shows_who_and_when_and_self_approval():
    actions = Actions(label="self-approved, development mode")
    view = make_view(actions)
    held(view)
    view.approval.approve_button.click()
    view.handle(ApprovalDecided("c1", "req-1", "approved", "notebook-user", "ok",
                                "2026-11-26T21:00:00Z"))
    info = view.approval.info.value
    assert "approved by notebook-user at 2026-11-26 21:00:00 UTC" in info
    assert "self-approved, development mode" in info
    assert view.approval.buttons.layout.display == "none"
    assert "Needs approval — approved" in view.decision.value


def test_reject_and_timeout_are_shown():
    view = make_view(Actions())
    held(view)
    view.approval.reject_button.click()
    view.handle(ApprovalDecided("c1", "req-1", "rejected", "rita", "too risky"))
    assert "rejected by rita" in view.approval.info.value and "too risky" in view.approval.info.value
    other = make_view(Actions())
    held(other)
    other.handle(ApprovalDecided("c1", "req-1", "timeout"))
    assert "timed out" in other.approval.info.value


def test_approval_skipped_by_fail_open_ends_the_wait():
    view = make_view(Actions())
    held(view)
    view.handle(GovernanceSkipped("c1", "unreachable", "approval", "connection refused"))
    info = view.approval.info.value
    assert "skipped (fail-open)" in info and "fail-open" in info and "Remaining" not in info
    assert view.approval.buttons.layout.display == "none"


def test_ticker_stops_at_the_deadline():
    view = make_view(Actions())
    held(view, deadline=1)
    time.sleep(2.5)
    assert view._ticker is not None and not view._ticker.is_alive()
    assert "Remaining</td>" in view.approval.info.value and ">0s<" in view.approval.info.value


def test_buttons_disabled_with_reason_when_actions_cannot_decide():
    actions = Actions(can_decide=False, reason="only a configured reviewer may approve here")
    view = make_view(actions)
    held(view)
    panel = view.approval
    assert panel.approve_button.disabled and panel.reject_button.disabled
    assert "only a configured reviewer may approve here" in panel.note.value
    panel.approve_button.click()
    assert actions.calls == []


def test_no_actions_replaces_buttons_with_where_to_approve():
    view = make_view(None)
    held(view)
    assert view.approval.buttons.layout.display == "none"
    assert "%axonflow queue" in view.approval.note.value


def test_cancelled_stops_the_panel():
    view = make_view(Actions())
    held(view)
    view.cancelled("kernel interrupted")
    info = view.approval.info.value
    assert "cancelled" in info and "kernel interrupted" in info
    assert view.approval.approve_button.disabled
    before = view.approval.info.value
    time.sleep(1.2)
    assert view.approval.info.value == before  # the ticker stopped


# -- response -----------------------------------------------------------------------------------
def test_streaming_chunks_then_final_answer():
    view = make_view(simulated=True)
    view.handle(decision())
    for piece in ["Revenue ", "was ", "**$4.2M**", "."]:
        view.handle(CompletionChunk("c1", piece))
    view.flush()
    assert view.response.layout.display is None
    assert "Revenue was <strong>$4.2M</strong>." in view.response.value
    assert "streaming…" in view.response.value and "simulated" in view.response.value
    view.handle(finished(simulated=True))
    assert "streaming…" not in view.response.value
    assert "axonflow-response" in view.response._dom_classes


@pytest.mark.parametrize("fmt, text, expected", [
    ("text", "a *b*\n<i>c</i>", "a *b*\n&lt;i&gt;c&lt;/i&gt;"),
    ("json", '{"a": [1, "<b>"]}', '{\n  &quot;a&quot;: [\n    1,\n    &quot;&lt;b&gt;&quot;'),
])
def test_text_and_json_formats(fmt, text, expected):
    view = make_view(fmt=fmt)
    view.handle(decision())
    view.handle(finished(text))
    assert expected in view.response.value


def test_call_failed_shows_error():
    view = make_view()
    view.handle(decision())
    view.handle(CallFailed("c1", "llm", "APIConnectionError", "connection refused"))
    assert "Call failed" in view.response.value and "APIConnectionError" in view.response.value


# -- audit --------------------------------------------------------------------------------------
def test_audit_record_card():
    view = make_view()
    view.handle(decision())
    view.handle(finished())
    view.handle(AuditRecorded("c1", "aud-42", "ctx-1"))
    html = view.audit.value
    for text in ("aud-42", "gpt-4o-mini", "openai", "11 prompt + 7 completion = 18 total",
                 "$0.000210", "420 ms", "UTC"):
        assert text in html
    assert "axonflow-audit" in view.audit._dom_classes


# -- throttle -----------------------------------------------------------------------------------
def test_throttle_coalesces_a_thousand_events_but_lands_the_final_state():
    view = make_view(max_updates_per_s=10)
    view.handle(decision())
    updates = []
    view.response.observe(lambda change: updates.append(change["new"]), "value")
    start = time.monotonic()
    for i in range(1000):
        view.handle(CompletionChunk("c1", f"{i} "))
        time.sleep(0.001)
    elapsed = time.monotonic() - start
    time.sleep(0.25)  # the armed timer delivers the last coalesced state
    assert len(updates) <= int(elapsed * 10) + 3
    assert view.response.value.count(" ") > 0
    assert "999" in view.response.value
    view.handle(finished(text="final answer"))
    assert "final answer" in view.response.value


def test_throttle_from_a_worker_thread():
    view = make_view()
    worker = threading.Thread(target=lambda: [view.handle(e) for e in
                                              (decision(), finished(), AuditRecorded("c1", "a", None))])
    worker.start()
    worker.join()
    assert "Audit record" in view.audit.value and "Allowed" in view.decision.value


# -- static summary -----------------------------------------------------------------------------
def test_summary_bundle_and_metadata_after_approval():
    actions = Actions()
    view = make_view(actions, simulated=True)
    held(view)
    view.approval.approve_button.click()
    view.handle(ApprovalDecided("c1", "req-1", "approved", "rita", None, "2026-11-26T21:00:00Z"))
    view.handle(finished(simulated=True))
    view.handle(AuditRecorded("c1", "aud-42", "ctx-1"))
    data, meta = view.summary(result_of(view, text="Revenue was **$4.2M**.")).\
        _repr_mimebundle_()
    assert set(data) == {"text/html", "text/markdown", "text/plain"}
    assert meta == {"axonflow": {"call_id": "c1", "context_id": "ctx-1", "audit_id": "aud-42",
                                 "request_id": "req-1", "decision": "approved"}}
    html = data["text/html"]
    assert 'class="axonflow-card axonflow-audit"' in html
    assert 'class="axonflow-card axonflow-decision"' in html
    assert "axonflow-approval\"" not in html and "axonflow-approval " not in html
    assert "<script" not in html and "simulated" in html and "approved by rita" in html
    assert "<strong>$4.2M</strong>" in html
    assert data["text/plain"].count("\n") == 0
    assert "aud-42" in data["text/plain"] and "simulated" in data["text/plain"]
    assert "**Answer**" in data["text/markdown"] and "aud-42" in data["text/markdown"]


def test_summary_of_a_blocked_call():
    view = make_view()
    view.handle(decision("blocked", ["sql-injection"], "SQL injection attempt"))
    view.handle(CallFailed("c1", "pre_check", "PolicyDeniedError", "blocked", ("sql-injection",)))
    view.handle(AuditRecorded("c1", "aud-7", "ctx-1"))
    data, meta = view.summary(result_of(view, error=RuntimeError("blocked")))._repr_mimebundle_()
    assert data["text/plain"].startswith("AxonFlow: Blocked [sql-injection]: SQL injection attempt")
    assert meta["axonflow"]["decision"] == "blocked" and meta["axonflow"]["audit_id"] == "aud-7"
    assert "Call failed" not in data["text/html"]


def test_summary_of_a_cancelled_wait_and_an_empty_result():
    view = make_view(Actions())
    held(view)
    view.cancelled("kernel interrupted")
    data, meta = view.summary(GovernedResult())._repr_mimebundle_()  # no events on the result
    assert meta["axonflow"]["decision"] == "cancelled"
    assert "kernel interrupted" in data["text/html"] and "req-1" in data["text/plain"]


def test_summary_never_carries_secrets_in_metadata():
    view = make_view(prompt="my token is sk-SECRET")
    view.handle(decision())
    _, meta = view.summary(result_of(view))._repr_mimebundle_()
    assert "sk-SECRET" not in repr(meta)


# -- code cells ---------------------------------------------------------------------------------
def test_code_cell_view_rows_and_summary():
    cell = CodeCellView(Actions())
    first = cell.call_view(prompt="one", model="gpt-4o-mini", backend="b", simulated=True)
    second = cell.call_view(prompt="two", model="gpt-4o-mini", backend="b", simulated=True)
    assert cell.rows.children == (first.widget, second.widget)
    first.handle(decision())
    second.handle(DecisionMade("c2", "blocked", ("pii",), "PII", None, 3.0))
    assert cell.rows.titles[0].startswith("1. allowed") and "[simulated]" in cell.rows.titles[0]
    assert cell.rows.titles[1].startswith("2. blocked")
    assert "2 governed LiteLLM calls" in cell.header.value
    results = [result_of(first, text="hi"), result_of(second, error=RuntimeError("x"))]
    data, meta = cell.summary(results)._repr_mimebundle_()
    assert data["text/html"].count("<details") == 2
    assert "1 allowed, 1 blocked" in data["text/plain"]
    assert [c["decision"] for c in meta["axonflow"]["calls"]] == ["allowed", "blocked"]


def test_code_cell_summary_keeps_calls_without_a_result():
    cell = CodeCellView(None)
    done = cell.call_view(prompt="one", model="m", backend="b", simulated=False)
    broken = cell.call_view(prompt="two", model="m", backend="b", simulated=False)
    done.handle(decision())
    broken.handle(CallFailed("c2", "llm", "Timeout", "no answer"))
    data, meta = cell.summary([result_of(done, text="hi")])._repr_mimebundle_()
    assert data["text/html"].count("<details") == 2 and "Timeout" in data["text/html"]
    assert [c["decision"] for c in meta["axonflow"]["calls"]] == ["allowed", "failed"]


def test_code_cell_view_opens_a_held_call():
    cell = CodeCellView(Actions())
    cell.call_view(prompt="one", model="m", backend="b", simulated=False)
    held_view = cell.call_view(prompt="two", model="m", backend="b", simulated=False)
    held(held_view)
    assert cell.rows.selected_index == 1
    held_view.cancelled("done")


# -- terminal -----------------------------------------------------------------------------------
def test_terminal_lines():
    assert render_event_text(decision("blocked", ["sql-injection"], "SQLi")) == \
        "decision: BLOCKED [sql-injection] — SQLi (12 ms, context ctx-1)"
    assert render_event_text(CompletionChunk("c1", "x")) is None
    assert render_event_text(ApprovalProgress("c1", "r", "pending", 3, 65.0, 5.0)) == \
        "approval r: pending · 1m 05s elapsed · 5s left · 3 polls"
    assert "simulated" in render_event_text(finished(simulated=True))
    assert "fail-open" in render_event_text(GovernanceSkipped("c1", "breaker_open", "pre_check"))
    assert render_event_text(AuditRecorded("c1", "a1", None)) == "audit: recorded a1"
    line = render_event_text(ApprovalDecided("c1", "r", "rejected", "rita\u202eevil", "no\nway"))
    assert "\u202e" not in line and "\n" not in line
