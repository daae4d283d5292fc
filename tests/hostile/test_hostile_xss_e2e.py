"""Hostile text end to end: from a policy file, a prompt, the model's answer and a reviewer's
comment, through the real agent and `%%governed`, into every bundle the cell displays.

The renderers' own XSS corpus tests (tests/notebook/test_render.py, test_queue.py,
test_audit_view.py) feed events directly; here the same payloads take the real path, so a field
that reaches a widget or the static summary by some route the unit tests did not imagine is
still checked. Nothing that comes out may be executable.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from axonflow_notebook.testing.inert import (
    assert_inert,
    assert_inert_markdown,
    assert_no_math_html,
)

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "[click](javascript:alert(1))",
    "<b onmouseover='alert(1)'>broken",
    "user\u202egnp.exe <iframe src=javascript:alert(1)>",
    "wire $2,500 plus a $30 fee \\(x\\)",
]
HOSTILE = " ".join(PAYLOADS)


def _policy_file(path: Path) -> Path:
    def q(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    path.write_text(
        "policies:\n"
        "  - id: xss-block\n"
        f"    name: {q('Blocked ' + HOSTILE)}\n"
        "    category: custom\n"
        "    pattern: '(?i)zebra-blocker'\n"
        "    action: block\n"
        "    severity: high\n"
        f"    description: {q('Reason ' + HOSTILE)}\n"
        "  - id: xss-hold\n"
        f"    name: {q('Held ' + HOSTILE)}\n"
        "    category: custom\n"
        "    pattern: '(?i)zebra-hold'\n"
        "    action: require_approval\n"
        "    severity: high\n"
        f"    description: {q('Hold ' + HOSTILE)}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from axonflow_notebook.testing.openai_server import OpenAITestServer
    from axonflow_notebook.testing.shell import governed_shell

    tmp = tmp_path_factory.mktemp("xss")
    llm = OpenAITestServer(reply="Answer: " + HOSTILE).start()
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_API_BASE": llm.url + "/v1",
           "OPENAI_BASE_URL": llm.url + "/v1"}
    try:
        with governed_shell(tmp / "data", env=env, policies=str(_policy_file(tmp / "xss.yaml")),
                            model="openai/test-model", simulate="never",
                            approval_poll_interval_seconds=0.1,
                            approval_max_wait_seconds=30) as shell:
            yield shell, llm
    finally:
        llm.stop()


@pytest.fixture
def published(world, monkeypatch):
    shell, _ = world
    sent = []
    original = shell.display_pub.publish

    def publish(data, metadata=None, *args, **kwargs):
        sent.append(data)
        return original(data, metadata, *args, **kwargs)

    monkeypatch.setattr(shell.display_pub, "publish", publish)
    return sent


def _card_html(view) -> list[str]:
    """Every HTML string of a live card's synced state, and its panel's texts (set as text)."""
    out = []
    for call in view.widget.calls:
        out += [call["html_top"], call["html_bottom"]]
        panel = call["approval"] or {}
        texts = [call["title"], panel.get("title", ""), panel.get("note", "")]
        texts += [v for row in panel.get("head", []) + panel.get("tail", []) for v in row]
        assert all("\u202e" not in t for t in texts), texts
    return out


def _check(bundles: list) -> int:
    """Assert every displayed bundle inert; returns how many HTML strings were checked."""
    checked = 0
    for data in bundles:
        if "text/html" in data:
            assert_inert(data["text/html"])
            assert_no_math_html(data["text/html"])
            checked += 1
        if "text/markdown" in data:
            assert_inert_markdown(data["text/markdown"])
        assert "\u202e" not in json.dumps(data, ensure_ascii=False)
    return checked


@pytest.fixture
def live_views(monkeypatch):
    """Every live CallView a cell displays (their widget values are checked after the cell)."""
    from axonflow_notebook.notebook.calls import presenters

    views = []
    original = presenters.CardPresenter.__init__

    def init(self, view):
        views.append(view)
        original(self, view)

    monkeypatch.setattr(presenters.CardPresenter, "__init__", init)
    return views


def _check_views(views: list) -> int:
    checked = 0
    for view in views:
        for html in _card_html(view):
            assert_inert(html)
            assert "\u202e" not in html
            checked += 1
    return checked


def test_hostile_prompt_and_answer(world, published, live_views):
    shell, llm = world
    out = shell.run_cell(f"%%governed -o answered\nPlease repeat: {HOSTILE}")
    assert out.error_in_exec is None, out.error_in_exec
    assert shell.user_ns["answered"].text.startswith("Answer: <script>")  # the data is kept as is
    assert _check(published) > 0
    assert _check_views(live_views) > 0, "no live widget was checked"


def test_hostile_policy_name_and_block_reason(world, published, live_views):
    shell, _ = world
    shell.run_cell("%%governed --no-raise -o blocked_xss\nzebra-blocker please")
    result = shell.user_ns["blocked_xss"]
    assert result.decision.status == "blocked", result.decision
    assert _check(published) > 0 and _check_views(live_views) > 0


def test_hostile_reviewer_comment_and_held_policy(world, published, live_views):
    shell, _ = world
    console = shell.magics_manager.registry["GovernedMagics"].runtime.backend().console
    from axonflow_notebook.notebook.calls.sync import resolve

    def approve_pending():
        deadline = time.time() + 30
        while time.time() < deadline:
            for item in resolve(console.list_queue())[0]:
                resolve(console.approve(item.request_id, reviewer_id="<img src=x onerror=alert(1)>",
                                        reviewer_email="x@example.com", comment="Fine " + HOSTILE))
                return
            time.sleep(0.1)

    thread = threading.Thread(target=approve_pending, daemon=True)
    thread.start()
    out = shell.run_cell("%%governed -o held_xss\nzebra-hold " + HOSTILE)
    thread.join(5)
    assert out.error_in_exec is None, out.error_in_exec
    result = shell.user_ns["held_xss"]
    assert result.approval.status == "approved" and "<script>" in (result.approval.comment or "")
    assert _check(published) > 0 and _check_views(live_views) > 0
    # The reviewer's queue and the audit trail show the same rows: inert too.
    for magic in ("queue", "audit --limit 20"):
        before = len(published)
        shell.run_line_magic("axonflow", magic)
        _check(published[before:])
