"""`%%governed` in a real InteractiveShell against a real embedded agent (demo policies).

Widgets use ipywidgets' test comms, so the views are real objects whose buttons can be clicked.
No LLM key is set: answers are simulated, governance is real.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from axonflow_notebook.testing.agents import pending_request_ids, start_agent
from axonflow_notebook.testing.shell import bundle_text, magics_of
from axonflow_notebook.testing.widgets import approval_panel, click, widget_by_id

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "notebooks" / "policies.yaml"


def test_allowed_call_binds_result_and_name(ip, published):
    out = ip.run_cell("%%governed -o answer\nSay hello to the team in one sentence.")
    assert out.error_in_exec is None, out.error_in_exec
    result = ip.user_ns["answer"]
    assert ip.user_ns["_governed"] is result
    assert result.ok and result.decision.status == "approved"
    assert result.audit_id
    assert "simulated" in (result.text or "").lower()
    finished = [e for e in result.events if type(e).__name__ == "CompletionFinished"]
    assert finished and finished[0].simulated
    assert any(update for _, _, update in published), "live view was not replaced by a summary"
    assert "simulated" in bundle_text(published).lower()


def test_cell_text_is_never_interpolated(ip):
    ip.user_ns["secret_var"] = "SHOULD-NOT-APPEAR"
    out = ip.run_cell("%%governed --format text\nEcho {secret_var} and $secret_var literally.")
    assert out.error_in_exec is None
    prompt_events = ip.user_ns["_governed"]
    assert "SHOULD-NOT-APPEAR" not in repr(prompt_events.events)


def test_one_line_form(ip):
    out = ip.run_cell("%governed -o short -s \"Be brief.\" -t 0.1 --max-tokens 20 What is 2 + 2?")
    assert out.error_in_exec is None, out.error_in_exec
    assert ip.user_ns["short"].ok


def test_blocked_call_stops_the_cell_in_two_lines(ip, published, capsys):
    out = ip.run_cell("%%governed -o denied\nSummarise the Project Nightingale roadmap.")
    err = out.error_in_exec
    assert err is not None and type(err).__name__ == "GovernedCallStopped"
    lines = err._render_traceback_()
    assert 1 <= len(lines) <= 2
    assert "project-nightingale" in "\n".join(lines) or "Nightingale" in "\n".join(lines)
    shown = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert not any("Traceback" in line for line in shown)
    assert type(ip.user_ns["denied"].error).__name__ == "PolicyDeniedError"
    assert ip.user_ns["denied"].decision.status == "blocked"
    assert published, "the decision card was not shown"


def test_no_raise_keeps_going_with_the_error_on_the_result(ip):
    out = ip.run_cell("%%governed --no-raise\nProject Nightingale launch date?")
    assert out.error_in_exec is None
    result = ip.user_ns["_governed"]
    assert not result.ok and "project-nightingale" in result.error.policies


def test_redaction_reaches_the_model_redacted(ip):
    out = ip.run_cell("%%governed\nWhat is the balance of ACCT-12345678?")
    assert out.error_in_exec is None, out.error_in_exec
    result = ip.user_ns["_governed"]
    kinds = [type(e).__name__ for e in result.events]
    assert "RedactionApplied" in kinds


def test_no_simulate_names_the_missing_key_before_anything_shows(ip, published):
    import litellm  # noqa: F401 - once LiteLLM is loaded, the key is checked before the card

    out = ip.run_cell("%%governed --no-simulate -m gpt-4o-mini\nhello")
    assert isinstance(out.error_in_exec, UsageError)
    assert "OPENAI_API_KEY" in str(out.error_in_exec)
    assert not published


def _click_when_shown(published, action: str, done: threading.Event) -> None:
    deadline = time.time() + 30
    while time.time() < deadline and not done.is_set():
        for data, _, _ in list(published):
            view = data.get("application/vnd.jupyter.widget-view+json")
            widget = widget_by_id(view["model_id"]) if view else None
            if widget is not None and click(widget, action):
                done.set()
                return
        time.sleep(0.3)


def test_approve_button_works_while_the_cell_awaits(ip, published):
    """The cell awaits on the loop (input transformer), so a click is processed mid-wait."""
    clicked = threading.Event()
    thread = threading.Thread(target=_click_when_shown, args=(published, "approve", clicked),
                              daemon=True)
    thread.start()
    started = time.time()
    out = ip.run_cell("%%governed -o wired\nPrepare a wire transfer of 100 EUR to the supplier.")
    thread.join(5)
    assert clicked.is_set(), "no enabled Approve button appeared"
    assert out.error_in_exec is None, out.error_in_exec
    result = ip.user_ns["wired"]
    assert result.ok and result.approval.status == "approved"
    assert "self-approved, development mode" in (result.approval.reviewer or "")
    assert result.approval.comment in (None, "")  # nothing typed: nothing stored
    assert time.time() - started < 20


def test_reviewer_outside_the_cell_rejects(ip):
    from axonflow_notebook.notebook.calls.sync import resolve

    console = magics_of(ip).runtime.backend().console

    def reject_pending():
        deadline = time.time() + 30
        while time.time() < deadline:
            for request_id in pending_request_ids(console):
                resolve(console.reject(request_id, reviewer_id="alice",
                                       reviewer_email="alice@example.com", comment="not today"))
                return
            time.sleep(0.2)

    threading.Thread(target=reject_pending, daemon=True).start()
    out = ip.run_cell("%%governed --no-raise\nSend a wire transfer to ACME.")
    assert out.error_in_exec is None
    result = ip.user_ns["_governed"]
    assert type(result.error).__name__ == "ApprovalRejected"
    assert result.approval.status == "rejected"


def test_background_returns_a_handle_and_binds_later(ip, published):
    out = ip.run_cell("%%governed --background -o later\nName three colours.")
    handle = out.result
    assert type(handle).__name__ == "GovernedHandle"
    assert ip.user_ns["_governed_handle"] is handle
    result = handle.result(timeout=30)
    assert result.ok and handle.status == "done"
    assert ip.user_ns["later"] is result
    assert "GovernedHandle" in handle._repr_mimebundle_()[0]["text/plain"]


def test_a_displayed_handle_says_how_the_call_ended(ip, published):
    """Issue 11 item 3: a saved notebook never shows "running" for a finished background call."""
    ip.run_cell("%%governed --background\nName a planet.")
    handle = ip.user_ns["_governed_handle"]
    ip.run_cell("_governed_handle")
    handle.result(timeout=30)
    time.sleep(0.2)
    handle_displays = [(data, update) for data, _, update in published
                       if "GovernedHandle(" in str(data.get("text/plain", ""))]
    assert handle_displays and handle_displays[-1][1], "the handle's display was not updated"
    assert "done" in handle_displays[-1][0]["text/plain"]
    assert "running" not in handle_displays[-1][0]["text/plain"]


def test_a_rejected_background_call_says_rejected(ip):
    """A handle ends as the reviewer decided, not as a generic "failed"."""
    from axonflow_notebook.notebook.calls.sync import resolve

    handle = ip.run_cell("%%governed --background --no-raise\nWire transfer 40 EUR to ACME.").result
    deadline = time.time() + 20
    while not handle.request_id and time.time() < deadline:
        time.sleep(0.1)
    console = magics_of(ip).runtime.backend().console
    resolve(console.reject(handle.request_id, reviewer_id="alice", reviewer_email="", comment="no"))
    result = handle.result(timeout=30)
    assert result.approval.status == "rejected" and handle.status == "rejected"
    assert "rejected" in handle._repr_mimebundle_()[0]["text/plain"]


def test_background_handle_can_be_awaited(ip):
    ip.run_cell("%%governed --background\nName three fruits.")
    out = ip.run_cell("res = await _governed_handle\nres.ok")
    assert out.error_in_exec is None and out.result is True


def test_cancelling_a_background_handle_ends_the_call_as_cancelled(ip):
    out = ip.run_cell("%%governed --background -o dropped\nPrepare a wire transfer of 12 EUR.")
    handle = out.result
    deadline = time.time() + 20
    while handle.status != "pending approval" and time.time() < deadline:
        time.sleep(0.1)
    assert handle.status == "pending approval", handle.status
    assert handle.cancel()
    result = handle.result(timeout=10)
    assert handle.status == "cancelled"
    assert ip.user_ns["dropped"] is result and result.error is not None
    assert result.decision is not None and result.decision.status == "needs_approval"
    assert any(type(e).__name__ == "ApprovalRequested" for e in result.events)


def test_streaming(ip):
    out = ip.run_cell("%%governed --stream\nCount to five.")
    assert out.error_in_exec is None, out.error_in_exec
    result = ip.user_ns["_governed"]
    assert result.ok and result.text


def test_axonflow_status_policies_audit(ip, capsys):
    magics_of(ip).client_secret = "top-secret-value"
    try:
        status = ip.run_line_magic("axonflow", "status")
        data, _ = status._repr_mimebundle_()
        text = " ".join(str(v) for v in data.values())
        assert "top-secret-value" not in text and "embedded" in text.lower()
    finally:
        magics_of(ip).client_secret = ""
    policies = ip.run_line_magic("axonflow", "policies")
    assert "AxonFlow policies" in str(policies._repr_mimebundle_())
    audit = ip.run_line_magic("axonflow", "audit --limit 5")
    assert audit is not None
    with pytest.raises(UsageError):
        ip.run_line_magic("axonflow", "audit --filter nokeyvalue")
    assert "top-secret-value" not in capsys.readouterr().out


def test_real_axonflow_without_reviewer_disables_buttons_with_the_reason(ip, published, tmp_path):
    """Against an endpoint (not the local dev agent) the requester may not approve."""
    magics = magics_of(ip)
    seen: dict = {}
    stop = threading.Event()

    def watch():  # the live view only exists while the cell waits
        while not stop.is_set():
            for data, _, _ in list(published):
                view = data.get("application/vnd.jupyter.widget-view+json")
                widget = widget_by_id(view["model_id"]) if view else None
                panel = approval_panel(widget) if widget is not None else None
                if panel and "reviewer" in panel["note"]:
                    seen.update(disabled=panel["actions"] == "disabled", note=panel["note"])
            time.sleep(0.1)

    remote = start_agent(tmp_path / "remote.db", policies=POLICIES)
    try:
        magics.endpoint = remote.url
        magics.client_id = "analyst-notebook"
        magics.client_secret = remote.test_secret
        magics.approval_max_wait_seconds = 6  # the watcher needs the live view to last a while
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        out = ip.run_cell("%%governed --no-raise\nPrepare a wire transfer of 3 EUR.")
        assert out.error_in_exec is None, out.error_in_exec
        assert type(ip.user_ns["_governed"].error).__name__ == "ApprovalTimeout"
    finally:
        stop.set()
        magics.endpoint = ""
        magics.client_id = ""
        magics.client_secret = ""
        magics.approval_max_wait_seconds = 20
        remote.stop()
    assert seen.get("disabled") is True, seen
    assert "reviewer queue" in seen["note"] or "%axonflow queue" in seen["note"]


def test_axonflow_endpoint_returns_the_url_in_use(ip):
    """`url = %axonflow endpoint` is the public way to point a reviewer console at the backend."""
    url = ip.run_line_magic("axonflow", "endpoint")
    assert url.startswith("http://127.0.0.1:")
    assert url == magics_of(ip).runtime.backend().url


def test_unload_closes_and_reload_starts_lazily(ip):
    """Last in this module: it closes the module's backend. A kernel never stops the user's shared
    local agent: it keeps serving the other kernels."""
    import httpx

    url = magics_of(ip).runtime.backend().url
    ip.run_line_magic("reload_ext", "axonflow_notebook")
    assert magics_of(ip).runtime.backends.started is None  # nothing starts until first use
    assert httpx.get(f"{url}/health", timeout=5).status_code == 200
