"""Nothing a model, a user or a server says can become markup or maths: XSS corpus and
property tests.

Every string field of every event goes through the live card's synced state, the static summary
(HTML and Markdown) and the tables; the output may contain only our own tags, no event-handler
attribute, no `javascript:` link, no `<` that came from the input, and nothing MathJax would
typeset (axonflow_notebook/testing/inert.py).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ipywidgets.widgets.tests.utils import setup_test_comm, teardown_test_comm

from axonflow_notebook.core.events import (
    ApprovalDecided,
    ApprovalRequested,
    AuditRecorded,
    CallFailed,
    CompletionFinished,
    DecisionMade,
    GovernanceSkipped,
    RedactionApplied,
)
from axonflow_notebook.core.records import PolicyRecord
from axonflow_notebook.core.result import GovernedResult
from axonflow_notebook.notebook.ui import CallState, CallView, CodeCellView, policies_table, status_table
from axonflow_notebook.notebook.ui.call_cards.response import answer_html
from axonflow_notebook.notebook.ui.escape import clean_text, esc, md_esc
from axonflow_notebook.notebook.ui.markdown import markdown_passthrough, markdown_to_html
from axonflow_notebook.notebook.ui.summary import call_summary
from axonflow_notebook.testing.inert import (
    assert_inert,
    assert_inert_markdown,
    assert_no_math_html,
)

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "<svg/onload=alert(1)>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    "[ok](https://example.com/\"onmouseover=\"alert(1))",
    "<iframe src=javascript:alert(1)>",
    "<div style=\"background:url(javascript:alert(1))\">",
    "<b onmouseover='alert(1)'>broken",
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</script>",
    "<!-- --><script>alert(1)</script>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "`<script>`` ``` <script>",
    "```\n<script>alert(1)</script>\n```",
    "**<img src=x onerror=alert(1)>**",
    "# <script>alert(1)</script>",
    "- <svg onload=alert(1)>",
    "> <img src onerror=alert(1)>",
    "user\u202egnp.exe",
    "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;",
    "\x00<script>\x1b[31m",
    "'; alert(1); '",
    "wire $2,500 plus a $30 fee",
    "pattern \\(\\d+\\) and \\\\(x\\\\) and $$x$$ \\begin{x}y\\end{x}",
]


@pytest.fixture(autouse=True)
def comm_stubs():
    setup_test_comm()
    yield
    teardown_test_comm()


class Actions:
    can_decide = True
    disabled_reason = None
    decider_label = "reviewer <b>rita</b>"

    def approve(self, request_id, comment):
        pass

    reject = approve


def every_field_events(p: str) -> list:
    return [
        DecisionMade("c", "needs_approval", (p, "ok-policy"), p, p, 3.0, True, backend=p),
        RedactionApplied("c", True, (p,), p, note=p),
        GovernanceSkipped("c", "timeout", "approval", detail=p),
        ApprovalRequested("c", p, p, p, p, 60.0),
        ApprovalDecided("c", p, "approved", reviewer=p, comment=p, decided_at=p),
        CompletionFinished("c", p, p, 1, 2, 3, 0.1, 5.0, True, p),
        AuditRecorded("c", p, p, delivered=False, detail=p),
        GovernanceSkipped("c", "unreachable", "audit", detail=p),
        CallFailed("c", p, p, p, (p,)),
    ]


def decide(card, action, request_id, comment):
    """What the browser sends when Approve / Reject is clicked (ui/static/call_card.js)."""
    card._handle_custom_msg({"type": "decide", "action": action, "request_id": request_id,
                             "comment": comment}, [])


def card_html(view) -> list[str]:
    """Every HTML string the live card's synced state carries."""
    found = []
    for call in view.widget.calls:
        found += [call["html_top"], call["html_bottom"]]
    return found


def card_text(view) -> list[str]:
    """Every plain string of the live approval panel (the browser sets them as text)."""
    texts = []
    for call in view.widget.calls:
        a = call["approval"] or {}
        texts += [call["title"], a.get("title", ""), a.get("note", "")]
        texts += [v for row in a.get("head", []) + a.get("tail", []) for v in row]
    return texts


@pytest.mark.parametrize("payload", XSS)
@pytest.mark.parametrize("fmt", ["markdown", "text", "json"])
def test_every_live_and_static_field_is_inert(payload, fmt):
    view = CallView(prompt=payload, model=payload, backend=payload, simulated=True,
                    actions=Actions(), fmt=fmt, describe_policy=lambda p: payload)
    view.widget
    view.handle(DecisionMade("c", "needs_approval", (payload,), payload, payload, 1.0))
    view.handle(ApprovalRequested("c", payload, payload, payload, payload, 60.0))
    decide(view.widget, "approve", payload, payload)
    for event in every_field_events(payload):
        view.handle(event)
    view.cancelled(payload)
    view.flush()
    for html in card_html(view):
        assert_inert(html)
        assert_no_math_html(html)
    assert all("\u202e" not in t for t in card_text(view))
    result = GovernedResult(text=payload, error=RuntimeError(payload))
    for event in view._events:
        result.record(event)
    for bundle in (view.summary(result), view.fallback()):
        data, _ = bundle._repr_mimebundle_()
        assert_inert(data["text/html"])
        assert_no_math_html(data["text/html"])
        assert_inert_markdown(data["text/markdown"])
        assert "\n" not in data["text/plain"] and "\u202e" not in data["text/plain"]
        assert "\u202e" not in data["text/html"]
    view.close()


@pytest.mark.parametrize("payload", XSS)
def test_code_cell_rows_and_summary_are_inert(payload):
    cell = CodeCellView(None)
    cell.widget
    view = cell.call_view(prompt=payload, model=payload, backend=payload, simulated=True)
    for event in every_field_events(payload):
        view.handle(event)
    view.flush()
    assert all("\u202e" not in c["title"] for c in cell.widget.calls)
    for c in cell.widget.calls:
        assert_inert(c["html_top"] + c["html_bottom"])
    data, _ = cell.summary([GovernedResult(text=payload)])._repr_mimebundle_()
    assert_inert(data["text/html"])
    assert_no_math_html(data["text/html"])
    assert_inert_markdown(data["text/markdown"])
    cell.close()


def policy(payload: str, **kw) -> PolicyRecord:
    fields = dict(id=payload, name=payload, category=payload, action="block", severity=payload,
                  priority=1, enabled=True, pattern=payload, description=payload)
    fields.update(kw)
    return PolicyRecord(**fields)


@pytest.mark.parametrize("payload", XSS)
def test_tables_are_inert(payload):
    status = {"backend": payload, "health": payload, payload: payload, "config": {"model": payload}}
    data, _ = status_table(status)._repr_mimebundle_()
    assert_inert(data["text/html"])
    assert_no_math_html(data["text/html"])
    assert_inert_markdown(data["text/markdown"])
    data, _ = policies_table([policy(payload), policy(payload, pattern=payload * 5)],
                             search=None)._repr_mimebundle_()
    assert_inert(data["text/html"])
    assert_no_math_html(data["text/html"])
    assert_inert_markdown(data["text/markdown"])


def test_markdown_keeps_safe_constructs():
    html = markdown_to_html("# Title\n\n**bold** and *it* and `x<y`\n\n- a\n- b\n\n1. one\n\n"
                            "[site](https://example.com/?a=1&b=2)\n\n```\n<tag>\n```")
    assert "<h3" in html and "<strong>bold</strong>" in html and "<em>it</em>" in html
    assert "x&lt;y</code>" in html and html.count("<li>") == 3
    assert 'href="https://example.com/?a=1&amp;b=2"' in html and 'rel="noopener' in html
    assert "&lt;tag&gt;" in html
    assert_inert(html)


def test_markdown_is_markdown_it_with_js_default_and_no_raw_html():
    """Tables (a js-default extension) render, raw HTML is text, images never load."""
    html = markdown_to_html("| a | b |\n|---|--:|\n| 1 | 2 |\n\n<b>x</b> ![t](https://x/p.png)")
    assert "<table" in html and "<th" in html and "text-align:right" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<img" not in html
    assert_inert(html)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "vbscript:msgbox(1)", "file:///etc/passwd",
                                 "data:text/html,<script>alert(1)</script>",
                                 "data:image/png;base64,iVBORw0KGgo=", "JaVaScRiPt:alert(1)",
                                 "java%0ascript:alert(1)"])
def test_refused_link_schemes_stay_text(url):
    html = markdown_to_html(f"[click]({url}) <{url}>")
    assert "<a" not in html and "click" in html
    assert_inert(html)


def test_markdown_bundle_keeps_code_blocks_verbatim():
    md = markdown_passthrough("Use:\n```python\nif a < b:\n    pass\n```\n<b>x</b> `c<d`")
    assert "```python\nif a < b:\n    pass\n```" in md
    assert "&lt;b&gt;x&lt;/b&gt;" in md and "`c&lt;d`" in md
    unclosed = markdown_passthrough("```\n<i>")
    assert unclosed.endswith("```") and unclosed.count("```") == 2
    # An indented or info-string-with-backtick "fence" is not trusted as one.
    assert "&lt;img" in markdown_passthrough(" ```\n<img src=x onerror=alert(1)>")
    assert "&lt;img" in markdown_passthrough("```a`b\n<img src=x onerror=alert(1)>")
    # Any fence-like line closes the raw region, even an indented one.
    assert "&lt;img" in markdown_passthrough("```\ncode\n  ```\n<img src=x onerror=alert(1)>")


def test_dollars_and_backslashes_are_never_maths():
    text = "wire $2,500 plus a $30 fee; pattern \\(\\d+\\)"
    assert md_esc(text) == f"`{text}`"
    assert markdown_passthrough(text) == f"```\n{text}\n```"
    assert_inert_markdown(md_esc(text, in_table=True))
    html = call_summary(CallState(prompt=text, model="m"), fmt="markdown").html
    assert_no_math_html(html) and assert_inert(html)


def test_javascript_links_become_text():
    html = markdown_to_html("[click](javascript:alert(1))")
    assert "<a" not in html and "click" in html


def test_bidi_override_is_made_visible():
    assert clean_text("a\u202eb") == "a[U+202E]b"
    assert "\u202e" not in esc("a\u202eb") and "\u202e" not in md_esc("x\u202e")


def test_status_table_masks_secrets():
    data, _ = status_table({"backend": "http://x", "client_secret": "s3cr3t",
                            "config": {"user_token": "tok-1", "api_key": "k", "timeout": 5},
                            "license_key": ""})._repr_mimebundle_()
    for mime in data.values():
        assert "s3cr3t" not in mime and "tok-1" not in mime and "\u2022\u2022\u2022\u2022" in mime
        assert "config.timeout" in mime


# -- properties ---------------------------------------------------------------------------------
TRICKY = st.lists(st.sampled_from(
    ["<", ">", "&", '"', "'", "script", "onerror=", "`", "```", "*", "**", "[", "](", ")", "#",
     "- ", "1. ", "> ", "\n", " ", "javascript:", "https://x", "\u202e", "\uff1c", "/", "=",
     "<img", "<a href=", "&lt;", "\t", "$", "$$", "\\", "\\(", "\\[", "\\begin{x}", "|",
     "~~", "data:", "![a](", "<https://x>"]), max_size=40).map("".join)
ANY_TEXT = st.one_of(st.text(max_size=200), TRICKY)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_property_html_renderers_leave_no_raw_angle_bracket(text):
    for html in (esc(text), markdown_to_html(text), answer_html(text, "text"),
                 answer_html(text, "json"), answer_html(text, "markdown")):
        assert_inert(html)
    assert_inert_markdown(md_esc(text))
    assert_inert_markdown(md_esc(text, in_table=True))
    assert_inert_markdown(markdown_passthrough(text))


@settings(max_examples=60, deadline=None)
@given(ANY_TEXT)
def test_property_static_summary_is_inert(text):
    state = CallState.replay(every_field_events(text), prompt=text, model=text, backend=text,
                             simulated=True)
    data, _ = call_summary(state, fmt="markdown")._repr_mimebundle_()
    assert_inert(data["text/html"])
    assert_no_math_html(data["text/html"])
    # The answer is Markdown and passes through: a `<` may stay only inside a closed code
    # fence or code span, shown literally.
    assert_inert_markdown(data["text/markdown"])
