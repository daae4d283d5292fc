"""`%%governed --over DF` in a real InteractiveShell: the batch widget, its approval panel, the
static summary that replaces it, what is bound, the background handle and every usage error.

Answers are simulated (no API key: LiteLLM's mock_response); governance is the local agent's,
with the demo policies.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from axonflow_notebook.testing.shell import bundle_text, governed_shell, published

from axonflow_notebook.testing.batches import run

POLICIES = Path(__file__).resolve().parents[2] / "notebooks" / "policies.yaml"

FRAME = ("import pandas as pd\n"
         "tickets = pd.DataFrame({'text': ['The export is slow.', 'Please prepare the wire transfer for "
         "invoice 7.', 'When does Project Nightingale launch?', 'Customer ACCT-00001234 asks about fees.', "
         "'Please prepare the wire transfer for invoice 9.', 'The login page times out.'], 'n': range(6)})")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def ip(tmp_path_factory):
    with governed_shell(tmp_path_factory.mktemp("batch-cells"), env={"AXONFLOW_POLICIES": str(POLICIES)},
                        approval_poll_interval_seconds=0.2, approval_max_wait_seconds=30) as shell:
        shell.run_cell(FRAME + "\nnot_a_frame = 'tickets'")
        yield shell


def _batch_widgets() -> list:
    import ipywidgets

    return [w for w in list(ipywidgets.widgets.widget._instances.values())
            if type(w).__name__ == "BatchWidget"]


def _click_when_held(count: int, action: str, comment: str, found: dict) -> threading.Thread:
    """From another thread, as the browser would: once `count` rows wait, decide them all."""
    def click() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for widget in _batch_widgets():
                rows = [r for g in widget.held for r in g["rows"] if r["status"] == "pending"]
                if len(rows) == count and widget.approval.get("actions") == "buttons":
                    found["panel"] = [dict(g) for g in widget.held]
                    found["ids"] = [r["request_id"] for r in rows]
                    widget._handle_custom_msg({"type": "decide", "action": action, "comment": comment,
                                               "request_ids": found["ids"]}, [])
                    return
            time.sleep(0.05)

    thread = threading.Thread(target=click, name="test-click")
    thread.start()
    return thread


def test_approve_all_in_the_panel_decides_every_held_row(ip):
    found: dict = {}
    clicker = _click_when_held(2, "approve", "fine for both invoices", found)
    with published(ip) as sent:
        outcome = ip.run_cell("%%governed --over tickets --into label -o labelled\nClassify: {text}")
    clicker.join(5)
    assert outcome.success, outcome.error_in_exec
    assert found.get("ids"), "the held rows never showed in the panel"
    # The panel grouped the held rows by policy, with their prompts.
    assert [g["policy"] for g in found["panel"]] == ["fin-wire-transfer"]
    assert [r["index"] for r in found["panel"][0]["rows"]] == [1, 4]
    assert "wire transfer for invoice 7" in found["panel"][0]["rows"][0]["prompt"]

    frame = ip.user_ns["labelled"]
    assert frame is ip.user_ns["_governed"]
    assert list(frame["label_status"]) == ["allowed", "approved", "blocked", "redacted", "approved", "allowed"]
    assert list(ip.user_ns["tickets"].columns) == ["text", "n"]  # the input frame is unchanged
    batch = ip.user_ns["_governed_batch"]
    console = ip.magics_manager.registry["GovernedMagics"].runtime.backend().approval_console()
    for request_id in found["ids"]:  # one decision per request, with the one comment
        record = run(console.get_request(request_id))
        assert record.status == "approved" and "fine for both invoices" in (record.review_comment or "")
    assert {row.request_id for row in batch if row.request_id} == set(found["ids"])

    # The live widget was replaced by the static summary, and its model closed.
    final = [data for data, _, update in sent if update][-1]
    assert WIDGET_VIEW not in final
    assert "AxonFlow batch — 6 rows" in final["text/html"] and "2 approved" in final["text/html"]
    assert "Rows that did not go through" in final["text/markdown"] and "Held rows" in final["text/markdown"]
    assert all(w.comm is None for w in _batch_widgets())


def test_reject_all_and_the_saved_form_while_rows_wait(ip):
    found: dict = {}
    clicker = _click_when_held(2, "reject", "", found)
    with published(ip) as sent:
        outcome = ip.run_cell("%%governed --over tickets --into label\nClassify: {text}")
    clicker.join(5)
    assert outcome.success
    statuses = list(ip.user_ns["_governed"]["label_status"])
    assert statuses[1] == statuses[4] == "rejected"
    # While the rows waited, the display's static form said so (a notebook saved then shows it).
    waiting = [data["text/plain"] for data, _, update in sent if update and WIDGET_VIEW in data]
    assert any("held" in text for text in waiting), waiting[-3:]


def test_a_decision_per_row(ip):
    found: dict = {}

    def click_each() -> None:  # row 1 rejected, row 4 approved: one message each, as the row buttons send
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for widget in _batch_widgets():
                rows = [r for g in widget.held for r in g["rows"] if r["status"] == "pending"]
                if len(rows) == 2 and widget.approval.get("actions") == "buttons":
                    found["ids"] = [r["request_id"] for r in rows]
                    for action, row in (("reject", rows[0]), ("approve", rows[1])):
                        widget._handle_custom_msg({"type": "decide", "action": action, "comment": "",
                                                   "request_ids": [row["request_id"]]}, [])
                    return
            time.sleep(0.05)

    thread = threading.Thread(target=click_each, name="test-click-each")
    thread.start()
    outcome = ip.run_cell("%%governed --over tickets --into label\nClassify: {text}")
    thread.join(5)
    assert outcome.success and found.get("ids")
    statuses = list(ip.user_ns["_governed"]["label_status"])
    assert statuses[1] == "rejected" and statuses[4] == "approved"


def test_widget_redraws_at_most_ten_times_a_second(ip):
    ip.run_cell("many = pd.DataFrame({'text': [f'Summarise ticket {i}.' for i in range(300)]})")
    from axonflow_notebook.notebook.ui import batch_view

    views = []
    original = batch_view.BatchView.__init__

    def keep(self, *args, **kwargs):
        original(self, *args, **kwargs)
        views.append(self)

    batch_view.BatchView.__init__ = keep
    try:
        started = time.perf_counter()
        outcome = ip.run_cell("%%governed --over many --concurrency 32\n{text}")
        elapsed = time.perf_counter() - started
    finally:
        batch_view.BatchView.__init__ = original
    assert outcome.success and ip.user_ns["_governed"]["answer_status"].eq("allowed").all()
    view = views[0]
    assert view.redraws <= 10 * elapsed + 3, (view.redraws, elapsed)
    assert view.state.done == 300


def test_background_returns_a_handle_at_once(ip):
    started = time.perf_counter()
    handle = ip.run_cell("%%governed --over tickets --background -o later\n{text}").result
    assert time.perf_counter() - started < 5 and handle is ip.user_ns["_governed_handle"]
    assert handle.status == "running"
    # nobody decides: the held rows expire at the deadline (30 s); cancel instead
    time.sleep(1.0)
    assert handle.cancel()
    frame = handle.result(timeout=30)
    assert handle.status == "cancelled" and frame is ip.user_ns["later"]
    assert "cancelled" in set(frame["answer_status"])
    assert "cancelled" in repr(handle)


@pytest.mark.parametrize("cell, words", [
    ("%%governed --over nothing_here\n{text}", "no variable 'nothing_here'"),
    ("%%governed --over not_a_frame\n{text}", "needs a pandas DataFrame, got str"),
    ("%%governed --over tickets\nClassify {text.upper}", "no attribute or index access"),
    ("%%governed --over tickets\nClassify {text[0]}", "no attribute or index access"),
    ("%%governed --over tickets\nClassify {ticket}", "{ticket} is not a column"),
    ("%%governed --over tickets --into text\n{text}", "already has column text"),
    ("%%governed --over tickets --code\nx = 1", "--over cannot be combined"),
    ("%%governed --over tickets --concurrency 0\n{text}", "--concurrency must be a positive"),
    ("%%governed --over tickets --budget -1\n{text}", "--budget must be"),
    ("%%governed --into label\nHello", "--into applies only to a batch"),
    ("%%governed --over tickets\n", "needs the template in the cell body"),
])
def test_usage_errors_before_anything_is_sent(ip, cell, words):
    console = ip.magics_manager.registry["GovernedMagics"].runtime.backend().console
    before = run(console.search_audit(limit=1)).total
    outcome = ip.run_cell(cell)
    assert not outcome.success and type(outcome.error_in_exec).__name__ == "UsageError"
    assert words in str(outcome.error_in_exec), str(outcome.error_in_exec)
    assert run(console.search_audit(limit=1)).total == before


def test_nothing_a_row_brings_is_rendered_as_markup_or_maths(ip):
    from axonflow_notebook.testing.inert import assert_inert, assert_inert_markdown, assert_no_math_html

    ip.run_cell("hostile = pd.DataFrame({'text': ['<img src=x onerror=alert(1)> Project Nightingale $\\\\alpha$ "
                "[x](javascript:alert(1)) **bold**', '<script>alert(2)</script> $$x$$ fine']})")
    with published(ip) as sent:
        outcome = ip.run_cell("%%governed --over hostile --into a\n{text} `tick` \\\\(y\\\\)")
    assert outcome.success
    final = [data for data, _, update in sent if update][-1]
    assert "Project Nightingale" in final["text/html"]  # the blocked row is listed, escaped
    assert_inert(final["text/html"])
    assert_no_math_html(final["text/html"])
    assert_inert_markdown(final["text/markdown"])


# Last in this file: a shell of its own (IPython's shell is one per process; leaving it unloads
# the extension the module's `ip` had loaded).
def test_a_budget_stop_says_how_far_the_budget_went(tmp_path, llm):
    env = {"AXONFLOW_POLICIES": str(POLICIES), "OPENAI_API_KEY": "sk-test", "OPENAI_API_BASE": llm.url + "/v1"}
    with governed_shell(tmp_path, env=env, simulate="never") as shell:
        shell.run_cell("import pandas as pd\nrows = pd.DataFrame({'text': [f'Summarise ticket {i}.' for i in range(30)]})")
        with published(shell) as sent:
            outcome = shell.run_cell("%%governed --over rows --budget 0.00004 --max-tokens 16 -m openai/gpt-4o-mini\n{text}")
        assert outcome.success, outcome.error_in_exec
        frame = shell.user_ns["_governed"]
        ran = int((frame["answer_status"] == "allowed").sum())
        assert 0 < ran < 30 and (frame["answer_status"][ran:] == "skipped_budget").all()
        text = bundle_text(sent[-1:])
        assert "budget reached: scheduling stopped" in text and f"{30 - ran} rows skipped" in text
        assert "of a $0.000040 budget" in text and "forecast" in text
