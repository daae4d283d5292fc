"""`%%governed` in a real InteractiveShell against a real embedded agent (demo policies).

Widgets use ipywidgets' DummyComm, so the views are real objects whose buttons can be clicked.
No LLM key is set: answers are simulated, governance is real.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "notebooks" / "policies.yaml"
KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AXONFLOW_ENDPOINT", "AXONFLOW_CLIENT_ID",
        "AXONFLOW_CLIENT_SECRET", "AXONFLOW_NOTEBOOK_MODEL")


@pytest.fixture(scope="module")
def widget_comms():
    import ipywidgets
    from ipywidgets.widgets.tests import utils

    import uuid

    import comm

    original_repr = ipywidgets.Widget._repr_mimebundle_
    utils.setup_test_comm()
    ipywidgets.Widget._repr_mimebundle_ = original_repr  # keep real reprs: views are displayed

    def unique_comm(**kwargs):
        # ipywidgets' DummyComm gives every widget the id "a-b-c-d": then any other widget
        # closed (or collected) mid-test removes the live view from the registry the tests
        # look buttons up in, and they fail depending on what ran before.
        dummy = utils.DummyComm()
        dummy.comm_id = kwargs.get("comm_id") or uuid.uuid4().hex
        return dummy

    comm.create_comm = unique_comm  # teardown_test_comm restores the original
    yield
    utils.teardown_test_comm()
    ipywidgets.Widget._repr_mimebundle_ = original_repr


@pytest.fixture(scope="module")
def ip(widget_comms, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    for key in KEYS:
        mp.delenv(key, raising=False)
    mp.setenv("AXONFLOW_POLICIES", str(POLICIES))
    mp.setenv("AXONFLOW_TELEMETRY", "off")
    mp.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    config = Config()
    config.HistoryAccessor.enabled = False
    shell = InteractiveShell.instance(config=config)
    shell.extension_manager.unload_extension("axonflow_notebook")
    shell.config.pop("GovernedMagics", None)
    shell.run_line_magic("load_ext", "axonflow_notebook")
    magics = shell.magics_manager.registry["GovernedMagics"]
    magics.data_dir = str(tmp_path_factory.mktemp("axonflow-data"))
    magics.approval_poll_interval_seconds = 0.2
    magics.approval_max_wait_seconds = 20
    yield shell
    shell.run_line_magic("unload_ext", "axonflow_notebook")
    shell.config.pop("GovernedMagics", None)
    mp.undo()


@pytest.fixture
def published(ip, monkeypatch):
    """Every display_data / update_display_data bundle the cell sends."""
    sent = []
    original = ip.display_pub.publish

    def publish(data, metadata=None, *args, **kwargs):
        sent.append((data, metadata or {}, kwargs.get("update", False)))
        return original(data, metadata, *args, **kwargs)

    monkeypatch.setattr(ip.display_pub, "publish", publish)
    return sent


def _text(bundles) -> str:
    return "\n".join(str(v) for data, meta, _ in bundles for v in list(data.values()) + [meta])


def _magics(ip):
    return ip.magics_manager.registry["GovernedMagics"]


def _approval(widget):
    """The live card's approval panel state (the card is one widget: ui/live_widget.py)."""
    for call in getattr(widget, "calls", None) or []:
        if call.get("approval"):
            return call["approval"]
    return None


def _click(widget, action, comment=""):
    """What the browser sends when Approve / Reject is clicked (ui/static/call_card.js)."""
    panel = _approval(widget)
    widget._handle_custom_msg({"type": "decide", "action": action,
                               "request_id": panel["request_id"], "comment": comment}, [])


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
    assert "simulated" in _text(published).lower()


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


def test_no_simulate_names_the_missing_key(ip):
    out = ip.run_cell("%%governed --no-simulate -m gpt-4o-mini\nhello")
    assert isinstance(out.error_in_exec, UsageError)
    assert "OPENAI_API_KEY" in str(out.error_in_exec)


def test_approve_button_works_while_the_cell_awaits(ip, published):
    """The cell awaits on the loop (input transformer), so a click is processed mid-wait."""
    clicked = threading.Event()

    def click_when_shown():
        import ipywidgets

        deadline = time.time() + 30
        while time.time() < deadline and not clicked.is_set():
            for data, _, _ in list(published):
                view = data.get("application/vnd.jupyter.widget-view+json")
                if not view:
                    continue
                widget = ipywidgets.widgets.widget._instances.get(view["model_id"])
                panel = _approval(widget) if widget else None
                if panel and panel["pending"] and panel["actions"] == "buttons":
                    _click(widget, "approve")
                    if _approval(widget)["clicked"]:
                        clicked.set()
                        return
            time.sleep(0.3)

    thread = threading.Thread(target=click_when_shown, daemon=True)
    thread.start()
    started = time.time()
    out = ip.run_cell("%%governed -o wired\nPrepare a wire transfer of 100 EUR to the supplier.")
    thread.join(5)
    assert clicked.is_set(), "no live card with Approve appeared"
    assert out.error_in_exec is None, out.error_in_exec
    result = ip.user_ns["wired"]
    assert result.ok and result.approval.status == "approved"
    assert "self-approved" in (result.approval.comment or "") + (result.approval.reviewer or "")
    assert time.time() - started < 20


def test_reviewer_outside_the_cell_rejects(ip):
    from axonflow_notebook.notebook.approvals import resolve

    console = _magics(ip).runtime.backend().console

    def reject_pending():
        deadline = time.time() + 30
        while time.time() < deadline:
            for item in resolve(console.list_queue()).items:
                resolve(console.reject(item.request_id, reviewer_id="alice",
                                       reviewer_email="alice@example.com", comment="not today"))
                return
            time.sleep(0.2)

    threading.Thread(target=reject_pending, daemon=True).start()
    out = ip.run_cell("%%governed --no-raise\nSend a wire transfer to ACME.")
    assert out.error_in_exec is None
    result = ip.user_ns["_governed"]
    assert type(result.error).__name__ == "ApprovalRejected"
    assert result.approval.status == "rejected"


def test_background_returns_a_handle_and_binds_later(ip):
    out = ip.run_cell("%%governed --background -o later\nName three colours.")
    handle = out.result
    assert type(handle).__name__ == "GovernedHandle"
    assert ip.user_ns["_governed_handle"] is handle
    result = handle.result(timeout=30)
    assert result.ok and handle.status == "done"
    assert ip.user_ns["later"] is result
    assert "GovernedHandle" in handle._repr_mimebundle_()[0]["text/plain"]


def test_background_handle_can_be_awaited(ip):
    ip.run_cell("%%governed --background\nName three fruits.")
    out = ip.run_cell("res = await _governed_handle\nres.ok")
    assert out.error_in_exec is None and out.result is True


def test_code_mode_governs_each_call_and_restores_litellm(ip):
    import litellm

    before = (litellm.completion, litellm.acompletion)
    cell = (
        "import litellm\n"
        "from axonflow_notebook import PolicyDeniedError\n"
        "ok = litellm.completion(model='gpt-4o-mini', messages=[{'role': 'user', 'content': 'hi'}])\n"
        "try:\n"
        "    litellm.completion(model='gpt-4o-mini',\n"
        "                       messages=[{'role': 'user', 'content': 'Project Nightingale?'}])\n"
        "except PolicyDeniedError as exc:\n"
        "    caught = exc\n"
        "aok = await litellm.acompletion(model='gpt-4o-mini', messages=[{'role': 'user', 'content': 'yo'}])\n"
    )
    out = ip.run_cell("%%governed --code -o calls\n" + cell)
    assert out.error_in_exec is None, out.error_in_exec
    assert "project-nightingale" in ip.user_ns["caught"].policies
    assert ip.user_ns["ok"].choices[0].message.content
    assert len(ip.user_ns["calls"]) == 3
    assert (litellm.completion, litellm.acompletion) == before

    out = ip.run_cell("%%governed --code\nimport litellm\nraise ValueError('boom')\n")
    assert isinstance(out.error_in_exec, ValueError)
    assert (litellm.completion, litellm.acompletion) == before


def test_streaming(ip):
    out = ip.run_cell("%%governed --stream\nCount to five.")
    assert out.error_in_exec is None, out.error_in_exec
    result = ip.user_ns["_governed"]
    assert result.ok and result.text


def test_axonflow_status_policies_audit(ip, capsys):
    _magics(ip).client_secret = "top-secret-value"
    try:
        status = ip.run_line_magic("axonflow", "status")
        bundle = status._repr_mimebundle_() if hasattr(status, "_repr_mimebundle_") else ({}, {})
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        text = " ".join(str(v) for v in data.values())
        assert "top-secret-value" not in text and "embedded" in text.lower()
    finally:
        _magics(ip).client_secret = ""
    policies = ip.run_line_magic("axonflow", "policies")
    assert "AxonFlow policies" in str(policies._repr_mimebundle_())
    audit = ip.run_line_magic("axonflow", "audit --limit 5")
    assert audit is not None
    with pytest.raises(UsageError):
        ip.run_line_magic("axonflow", "audit --filter nokeyvalue")
    assert "top-secret-value" not in capsys.readouterr().out


def test_terminal_ipython_prints_text_lines(tmp_path):
    """Terminal IPython: the same magics, one text line per event, no widgets."""
    import os
    import subprocess
    import sys

    lines = [
        "%load_ext axonflow_notebook",
        f"%config GovernedMagics.data_dir = {str(tmp_path)!r}",
        "%governed Say hello",
        "%governed --no-raise What is project nightingale?",
        "exit",
    ]
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    env.update(AXONFLOW_POLICIES=str(POLICIES), AXONFLOW_TELEMETRY="off",
               LITELLM_LOCAL_MODEL_COST_MAP="True", IPYTHONDIR=str(tmp_path / "ipython"))
    out = subprocess.run(
        [sys.executable, "-m", "IPython", "--simple-prompt", "--no-banner",
         "--HistoryAccessor.enabled=False"],
        input="\n".join(lines) + "\n", capture_output=True, text=True, env=env, timeout=120,
    ).stdout
    assert "AxonFlow: embedded agent at http://127.0.0.1:" in out
    assert "decision: allowed" in out
    assert "project-nightingale" in out.lower()
    assert "VBox(" not in out and "widget" not in out.lower()


def test_real_axonflow_without_reviewer_disables_buttons_with_the_reason(ip, published, tmp_path):
    """Against an endpoint (not the embedded dev agent) the requester may not approve."""
    import ipywidgets

    from axonflow_notebook.agent import EmbeddedAgent

    magics = _magics(ip)
    seen: dict = {}
    stop = threading.Event()

    def watch():  # the live view only exists while the cell waits
        while not stop.is_set():
            for data, _, _ in list(published):
                view = data.get("application/vnd.jupyter.widget-view+json")
                widget = ipywidgets.widgets.widget._instances.get(view["model_id"]) if view else None
                panel = _approval(widget) if widget else None
                if panel and "reviewer_id" in panel["note"]:
                    seen.update(disabled=panel["actions"] == "disabled", note=panel["note"])
            time.sleep(0.1)

    with EmbeddedAgent(port=0, db_path=str(tmp_path / "remote.db"), policies=str(POLICIES)) as remote:
        magics.endpoint = remote.url
        magics.client_id = "analyst-notebook"
        magics.client_secret = remote.secret
        magics.approval_max_wait_seconds = 6  # the watcher needs the live view to last a while
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            out = ip.run_cell("%%governed --no-raise\nPrepare a wire transfer of 3 EUR.")
            assert out.error_in_exec is None, out.error_in_exec
            assert type(ip.user_ns["_governed"].error).__name__ == "ApprovalTimeout"
        finally:
            stop.set()
            watcher.join(2)
            magics.endpoint = ""
            magics.client_id = ""
            magics.client_secret = ""
            magics.approval_max_wait_seconds = 20
    assert seen.get("disabled") is True, seen
    assert "reviewer queue" in seen["note"] or "%axonflow queue" in seen["note"]


def test_axonflow_endpoint_returns_the_url_in_use(ip):
    """`url = %axonflow endpoint` is the public way to point a reviewer console at the backend."""
    url = ip.run_line_magic("axonflow", "endpoint")
    assert url.startswith("http://127.0.0.1:")
    assert url == ip.magics_manager.registry["GovernedMagics"].runtime.backend().url


def test_unload_stops_the_agent_and_reload_starts_lazily(ip):
    """Last in this module: it stops the module's backend."""
    backend = _magics(ip).runtime.backend()
    agent = backend.agent
    assert agent is not None and agent.running
    ip.run_line_magic("reload_ext", "axonflow_notebook")
    assert not agent.running
    assert _magics(ip).runtime.backends.started is None  # nothing starts until first use

