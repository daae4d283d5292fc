"""CallView / CodeCellView fed with core event sequences, checked through the card's synced state.

Widgets run on ipywidgets' own comm stubs (no frontend), so every assertion is on the state a
frontend would receive, and clicks are the messages the browser sends (ui/static/call_card.js).
"""

from __future__ import annotations

import gc
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
from axonflow_notebook.notebook.ui import CallView, CodeCellView, compact_row, render_event_text


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
    view = CallView(**args)
    view.widget  # the card exists from the start, as in a notebook
    return view


def call(view):
    view.flush()
    return view.widget.calls[0]


def top(view):
    return call(view)["html_top"]


def bottom(view):
    return call(view)["html_bottom"]


def panel(view):
    return call(view)["approval"]


def panel_text(view):
    p = panel(view)
    return " ".join([p["title"], p["note"]] + [f"{k} {v}" for k, v in p["head"] + p["tail"]])


def click(view, action, comment="", request_id="req-1"):
    """What the browser sends on Approve / Reject: one message with the comment's full text."""
    view.widget._handle_custom_msg({"type": "decide", "action": action,
                                    "request_id": request_id, "comment": comment}, [])


def decision(status="approved", policies=(), reason=None, redaction=False):
    return DecisionMade("c1", status, tuple(policies), reason, "ctx-1", 12.5,
                        requires_redaction=redaction, backend="http://127.0.0.1:8080")


def finished(text="Revenue was **$4.2M**.", simulated=False):
    return CompletionFinished("c1", "gpt-4o-mini", "openai", 11, 7, 18, 0.00021, 420.0,
                              simulated, text)


def held(view, deadline=60.0):
    view.handle(decision("needs_approval", ["fin-wire-transfer"], "require_approval"))
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
    html = top(view)
    assert title in html and color in html
    assert "ctx-1" in html or "Governance skipped" in title
    assert "axonflow-decision" in html


def test_starting_phase_shows_before_the_first_event():
    view = make_view()
    view.starting("loading LiteLLM…")
    assert "Starting — loading LiteLLM…" in top(view)
    view.handle(decision())
    assert "Allowed" in top(view) and "loading LiteLLM" not in top(view)


def test_decision_card_details():
    view = make_view(simulated=True)
    view.handle(decision("blocked", ["sql-injection"], "SQL injection attempt"))
    html = top(view)
    for text in ("sql-injection", "SQL injection attempt", "ctx-1", "12 ms",
                 "http://127.0.0.1:8080", "What is our Q3 revenue?"):
        assert text in html
    assert bottom(view) == ""  # a blocked call has no answer card


@pytest.mark.parametrize("events", [
    [decision("blocked", ["sql-injection"], "SQL injection attempt"),
     CallFailed("c1", "pre_check", "PolicyDeniedError", "blocked", ("sql-injection",)),
     AuditRecorded("c1", "aud-1", "ctx-1")],
    [GovernanceSkipped("c1", "unreachable", "pre_check", fail_open=False),
     CallFailed("c1", "pre_check", "AxonFlowUnavailable", "refused")],
])
def test_blocked_and_refused_cards_carry_no_simulated_badge(events):
    """Nothing was simulated: no answer was produced at all."""
    view = make_view(simulated=True)
    for e in events:
        view.handle(e)
    assert "simulated" not in top(view) + bottom(view)
    data, _ = view.summary(result_of(view, error=RuntimeError("no")))._repr_mimebundle_()
    assert "simulated" not in data["text/html"] + data["text/markdown"] + data["text/plain"]
    allowed = make_view(simulated=True)
    allowed.handle(decision())
    allowed.handle(finished(simulated=True))
    assert "simulated" in top(allowed) and "simulated" in bottom(allowed)


def test_reason_is_the_policy_description_not_the_action():
    described = {"fin-wire-transfer": "Wire transfers need a second pair of eyes."}
    view = make_view(Actions(), describe_policy=described.get)
    held(view)
    assert "Wire transfers need a second pair of eyes." in top(view)
    assert "require_approval" not in top(view)
    data, _ = view.summary(result_of(view))._repr_mimebundle_()
    assert "Wire transfers need a second pair of eyes." in data["text/html"]
    bare = make_view(Actions())
    held(bare)
    assert "require_approval" not in top(bare) and "Reason" not in top(bare)


def test_redaction_card_shows_the_text_that_was_sent():
    view = make_view(prompt="Reply to John, SSN 123-45-6789, about his card.")
    view.handle(decision(policies=["sys_pii_ssn"], redaction=True))
    view.handle(RedactionApplied("c1", True, ("sys_pii_ssn",), "Reply to John, SSN [REDACTED:ssn], "
                                 "about his card."))
    html = top(view)
    assert "Prompt (redacted, as sent)" in html and "[REDACTED:ssn]" in html
    assert "123-45-6789" not in html and "redacted" in html
    data, _ = view.summary(result_of(view))._repr_mimebundle_()
    assert all("123-45-6789" not in v for v in data.values())


def test_skipped_stages_are_visible_everywhere():
    view = make_view()
    view.handle(GovernanceSkipped("c1", "timeout", "pre_check"))
    view.handle(finished())
    view.handle(GovernanceSkipped("c1", "unreachable", "audit", "connection refused"))
    assert "AxonFlow timed out" in top(view)
    assert "AxonFlow unreachable" in bottom(view) and "connection refused" in bottom(view)
    assert "#b26a00" in bottom(view)


# -- approval panel -----------------------------------------------------------------------------
def test_approval_panel_state():
    view = make_view(Actions())
    assert panel(view) is None
    held(view)
    p = panel(view)
    assert p["pending"] and p["actions"] == "buttons" and p["request_id"] == "req-1"
    assert 59 < p["remaining_s"] <= 60 and p["elapsed_s"] < 1
    for text in ("req-1", "fin-wire-transfer", "high", "pending"):
        assert text in panel_text(view)
    assert "approval-record" not in top(view) + bottom(view)  # the browser draws the panel


def test_countdown_ticks_in_the_browser_not_in_a_thread():
    """No ticker thread and no timer per call: the browser counts down from the synced state."""
    before = {t.name for t in threading.enumerate()}
    view = make_view(Actions())
    held(view, deadline=30)
    first = panel(view)
    time.sleep(1.2)
    assert view.widget.calls[0]["approval"]["seq"] == first["seq"]  # nothing pushed meanwhile
    new = {t.name for t in threading.enumerate()} - before
    assert not [n for n in new if "ticker" in n or n.startswith("Thread-")], new
    view.handle(ApprovalProgress("c1", "req-1", "pending", 7, 20.0, 10.0))
    p = panel(view)
    assert 9 < p["remaining_s"] <= 10 and "Polls 7" in panel_text(view)


def test_comment_arrives_in_full_with_the_click():
    """The comment travels in the click's message, so it is whatever the reviewer typed, at
    whatever speed; the card never syncs the comment as widget state."""
    actions = Actions()
    view = make_view(actions)
    held(view)
    comment = "No PO for invoice 77"
    click(view, "reject", comment)
    assert actions.calls == [("reject", "req-1", comment)]
    assert "comment" not in view.widget.keys


def test_approve_click_calls_actions_once_even_when_double_clicked():
    actions = Actions()
    view = make_view(actions)
    held(view)
    click(view, "approve", "looks fine")
    click(view, "approve", "looks fine")
    click(view, "reject", "no")
    assert actions.calls == [("approve", "req-1", "looks fine")]
    p = panel(view)
    assert p["clicked"] == "approve" and "waiting for AxonFlow to confirm" in p["note"]


@pytest.mark.parametrize("content", [
    {"type": "decide", "action": "approve", "request_id": "someone-else", "comment": ""},
    {"type": "decide", "action": "delete", "request_id": "req-1", "comment": ""},
    {"type": "decide", "action": "approve", "request_id": None},
    {"type": "other"},
])
def test_messages_for_another_request_or_action_are_ignored(content):
    actions = Actions()
    view = make_view(actions)
    held(view)
    view.widget._handle_custom_msg(content, [])
    assert actions.calls == [] and panel(view)["clicked"] == ""


def test_concurrent_clicks_from_threads_decide_once():
    actions = Actions()
    view = make_view(actions)
    held(view)
    barrier = threading.Barrier(8)

    def send(action):
        barrier.wait()
        click(view, action, action)

    threads = [threading.Thread(target=send, args=(a,)) for a in ["approve", "reject"] * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(actions.calls) == 1


def test_decided_shows_who_and_when_and_self_approval():
    actions = Actions(label="self-approved, development mode")
    view = make_view(actions)
    held(view)
    click(view, "approve")
    view.handle(ApprovalDecided("c1", "req-1", "approved", "notebook-user", "ok",
                                "2026-11-26T21:00:00Z"))
    text = panel_text(view)
    assert "approved by notebook-user at 2026-11-26 21:00:00 UTC" in text
    assert "self-approved, development mode" in text
    assert not panel(view)["pending"] and panel(view)["note"] == ""
    assert "Needs approval — approved" in top(view)


def test_reject_and_timeout_are_shown():
    view = make_view(Actions())
    held(view)
    click(view, "reject", "too risky")
    view.handle(ApprovalDecided("c1", "req-1", "rejected", "rita", "too risky"))
    assert "rejected by rita" in panel_text(view) and "too risky" in panel_text(view)
    other = make_view(Actions())
    held(other)
    other.handle(ApprovalDecided("c1", "req-1", "timeout"))
    assert "timed out" in panel_text(other)


def test_approval_skipped_by_fail_open_ends_the_wait():
    view = make_view(Actions())
    held(view)
    view.handle(GovernanceSkipped("c1", "unreachable", "approval", "connection refused"))
    assert "skipped (fail-open)" in panel_text(view) and not panel(view)["pending"]


def test_buttons_disabled_with_reason_when_actions_cannot_decide():
    actions = Actions(can_decide=False, reason="only a configured reviewer may approve here")
    view = make_view(actions)
    held(view)
    assert panel(view)["actions"] == "disabled"
    assert "only a configured reviewer may approve here" in panel(view)["note"]
    click(view, "approve")
    assert actions.calls == []


def test_no_actions_says_where_to_approve():
    view = make_view(None)
    held(view)
    assert panel(view)["actions"] == "none" and "%axonflow queue" in panel(view)["note"]


def test_cancelled_stops_the_panel():
    view = make_view(Actions())
    held(view)
    view.cancelled("kernel interrupted")
    assert "cancelled" in panel_text(view) and "kernel interrupted" in panel_text(view)
    assert not panel(view)["pending"]


# -- response -----------------------------------------------------------------------------------
def test_streaming_chunks_then_final_answer():
    view = make_view(simulated=True)
    view.handle(decision())
    for piece in ["Revenue ", "was ", "**$4.2M**", "."]:
        view.handle(CompletionChunk("c1", piece))
    html = bottom(view)
    assert "Revenue was <strong>$4.2M</strong>." in html
    assert "streaming…" in html and "simulated" in html and "mathjax_ignore" in html
    view.handle(finished(simulated=True))
    assert "streaming…" not in bottom(view) and "axonflow-response" in bottom(view)


@pytest.mark.parametrize("fmt, text, expected", [
    ("text", "a *b*\n<i>c</i>", "a *b*\n&lt;i&gt;c&lt;/i&gt;"),
    ("json", '{"a": [1, "<b>"]}', '{\n  &quot;a&quot;: [\n    1,\n    &quot;&lt;b&gt;&quot;'),
])
def test_text_and_json_formats(fmt, text, expected):
    view = make_view(fmt=fmt)
    view.handle(decision())
    view.handle(finished(text))
    assert expected in bottom(view)


def test_call_failed_shows_error():
    view = make_view()
    view.handle(decision())
    view.handle(CallFailed("c1", "llm", "APIConnectionError", "connection refused"))
    assert "Call failed" in bottom(view) and "APIConnectionError" in bottom(view)


def test_audit_record_card():
    view = make_view()
    view.handle(decision())
    view.handle(finished())
    view.handle(AuditRecorded("c1", "aud-42", "ctx-1"))
    html = bottom(view)
    for text in ("aud-42", "gpt-4o-mini", "openai", "11 prompt + 7 completion = 18 total",
                 "$0.000210", "420 ms", "UTC", "axonflow-audit"):
        assert text in html


# -- coalescing ---------------------------------------------------------------------------------
def test_a_thousand_events_coalesce_but_the_final_state_lands():
    view = make_view()
    view.handle(decision())
    updates = []
    view.widget.observe(lambda change: updates.append(change["new"]), "calls")
    start = time.monotonic()
    for i in range(1000):
        view.handle(CompletionChunk("c1", f"{i} "))
        time.sleep(0.001)
    elapsed = time.monotonic() - start
    time.sleep(0.3)  # the one shared timer draws the last coalesced state
    assert len(updates) <= int(elapsed * 10) + 3
    assert "999" in view.widget.calls[0]["html_bottom"]
    view.handle(finished(text="final answer"))
    assert "final answer" in view.widget.calls[0]["html_bottom"]


def test_events_from_a_worker_thread():
    view = make_view()
    worker = threading.Thread(target=lambda: [view.handle(e) for e in
                                              (decision(), finished(), AuditRecorded("c1", "a", None))])
    worker.start()
    worker.join()
    assert "Audit record" in bottom(view) and "Allowed" in top(view)


# -- the display: fallback beside the widget, models closed at the end ---------------------------
def test_widget_bundle_carries_a_static_fallback():
    view = make_view(Actions())
    held(view)
    data, meta = view.widget._repr_mimebundle_()
    assert {"text/html", "text/markdown", "text/plain",
            "application/vnd.jupyter.widget-view+json"} <= set(data)
    assert "Needs approval" in data["text/html"] and "req-1" in data["text/html"]
    assert "VBox(" not in data["text/plain"] and "object at 0x" not in data["text/plain"]
    assert meta["axonflow"]["request_id"] == "req-1"


def test_the_bound_display_is_refreshed_when_a_request_is_held():
    class Handle:
        def __init__(self):
            self.updates = []

        def update(self, obj):
            self.updates.append(obj._repr_mimebundle_()[0]["text/html"])

    view = make_view(Actions())
    handle = Handle()
    view.bind_display(handle)
    held(view)
    assert len(handle.updates) == 1 and "req-1" in handle.updates[0]
    view.summary(result_of(view))
    view.handle(ApprovalRequested("c1", "req-2", None, "p", "high", 5.0))
    assert len(handle.updates) == 1  # never after the summary: it must win


def _live_models() -> int:
    from ipywidgets import Widget

    return len(Widget.widgets)


def test_no_widget_model_outlives_its_cell():
    """100 finished calls (prompt and code cells) leave no widget model behind."""
    gc.collect()
    before = _live_models()
    for i in range(100):
        if i % 2:
            view = make_view(Actions())
            held(view)
            click(view, "approve", f"ok {i}")
            view.handle(ApprovalDecided("c1", "req-1", "approved", "rita"))
            view.handle(finished())
            view.handle(AuditRecorded("c1", f"aud-{i}", "ctx-1"))
            view.summary(result_of(view))
            view.close()
        else:
            cell = CodeCellView(Actions())
            cell.widget
            row = cell.call_view(prompt="p", model="m", backend="b", simulated=True)
            row.handle(decision())
            row.handle(finished())
            cell.summary([result_of(row)])
            cell.close()
    gc.collect()
    assert _live_models() == before


def test_a_view_without_its_widget_creates_none():
    """Terminal IPython folds events and prints the summary without any widget model."""
    before = _live_models()
    view = CallView(prompt="p", model="m", backend="b", simulated=False, actions=None)
    view.handle(decision())
    view.summary(result_of(view))
    view.close()
    assert _live_models() == before


# -- static summary -----------------------------------------------------------------------------
def test_summary_bundle_and_metadata_after_approval():
    actions = Actions()
    view = make_view(actions, simulated=True)
    held(view)
    click(view, "approve")
    view.handle(ApprovalDecided("c1", "req-1", "approved", "rita", None, "2026-11-26T21:00:00Z"))
    view.handle(finished(simulated=True))
    view.handle(AuditRecorded("c1", "aud-42", "ctx-1"))
    data, meta = view.summary(result_of(view, text="Revenue was **$4.2M**.")).\
        _repr_mimebundle_()
    assert set(data) == {"text/html", "text/markdown", "text/plain"}
    assert meta == {"axonflow": {"call_id": "c1", "context_id": "ctx-1", "audit_id": "aud-42",
                                 "request_id": "req-1", "decision": "approved"}}
    html = data["text/html"]
    assert "axonflow-card axonflow-audit" in html and "axonflow-card axonflow-decision" in html
    assert "axonflow-approval " not in html and 'axonflow-approval"' not in html
    assert "<script" not in html and "simulated" in html and "approved by rita" in html
    assert "<strong>$4.2M</strong>" in html and "mathjax_ignore" in html
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


def test_compact_row_is_one_line():
    view = make_view(simulated=True)
    view.handle(decision())
    view.handle(finished("Paris is the capital.", simulated=True))
    view.handle(AuditRecorded("c1", "aud-5", "ctx-1"))
    data, meta = compact_row(result_of(view, text="Paris is the capital."),
                             prompt="Capital of France?", model="gpt-4o-mini")._repr_mimebundle_()
    assert data["text/plain"].count("\n") == 0
    for text in ("allowed", "gpt-4o-mini", "[simulated]", "Capital of France?", "Paris", "aud-5"):
        assert text in data["text/plain"]
    assert "axonflow-row" in data["text/html"] and meta["axonflow"]["audit_id"] == "aud-5"


# -- code cells ---------------------------------------------------------------------------------
def test_code_cell_view_rows_and_summary():
    cell = CodeCellView(Actions())
    card = cell.widget
    first = cell.call_view(prompt="one", model="gpt-4o-mini", backend="b", simulated=True)
    second = cell.call_view(prompt="two", model="gpt-4o-mini", backend="b", simulated=True)
    first.handle(decision())
    second.handle(DecisionMade("c2", "blocked", ("pii",), "PII", None, 3.0))
    first.flush()
    titles = [c["title"] for c in card.calls]
    assert titles[0].startswith("1. allowed") and "[simulated]" in titles[0]
    assert titles[1].startswith("2. blocked") and "[simulated]" not in titles[1]
    assert "2 governed LiteLLM calls" in card.header and card.kind == "code"
    results = [result_of(first, text="hi"), result_of(second, error=RuntimeError("x"))]
    data, meta = cell.summary(results)._repr_mimebundle_()
    assert data["text/html"].count("<details") == 2
    assert "1 allowed, 1 blocked" in data["text/plain"]
    assert [c["decision"] for c in meta["axonflow"]["calls"]] == ["allowed", "blocked"]
    cell.close()


def test_code_cell_summary_keeps_calls_without_a_result():
    cell = CodeCellView(None)
    done = cell.call_view(prompt="one", model="m", backend="b", simulated=False)
    broken = cell.call_view(prompt="two", model="m", backend="b", simulated=False)
    done.handle(decision())
    broken.handle(CallFailed("c2", "llm", "Timeout", "no answer"))
    data, meta = cell.summary([result_of(done, text="hi")])._repr_mimebundle_()
    assert data["text/html"].count("<details") == 2 and "Timeout" in data["text/html"]
    assert [c["decision"] for c in meta["axonflow"]["calls"]] == ["allowed", "failed"]


def test_code_cell_routes_a_click_to_its_held_call():
    actions = Actions()
    cell = CodeCellView(actions)
    card = cell.widget
    cell.call_view(prompt="one", model="m", backend="b", simulated=False)
    held_view = cell.call_view(prompt="two", model="m", backend="b", simulated=False)
    held(held_view)
    held_view.flush()
    assert card.calls[1]["approval"]["pending"] and card.calls[0]["approval"] is None
    card._handle_custom_msg({"type": "decide", "action": "approve", "request_id": "req-1",
                             "comment": "fine by me"}, [])
    assert actions.calls == [("approve", "req-1", "fine by me")]
    cell.close()


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
