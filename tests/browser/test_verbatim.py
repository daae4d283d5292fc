"""Issue 11, items 4 and 5: nothing is typeset as maths, and the policy table fits its output.

JupyterLab 4.6 hands every HTML and Markdown output to MathJax 3, which typesets `$…$`,
`\\(…\\)` and `\\begin…` found in the page's text unless an element carries `mathjax_ignore`
(MathJax's default `ignoreHtmlClass`, kept by @jupyterlab/mathjax-extension); its Markdown
renderer passes `$` and `\\\\(` through to MathJax (`removeMath` in @jupyterlab/rendermime).
Here a live card, a static summary (HTML, and Markdown shown on its own), the policy table (its
patterns hold `\\(`, `$`) and the audit trail carry such text; every string must appear verbatim
and MathJax must have made no element. The policy table must fit a 940 px output.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .ui import cell_output, errors, math_nodes, open_notebook, outputs, run_all, wait_all_run

PRICE = "wire $2,500 plus a $30 fee"
BRACKETS = r"ref \(77\) and \[x\]"
SETUP = "%load_ext axonflow_notebook"
HELD = f"%%governed --background -o held\nPrepare the wire transfer: {PRICE}, {BRACKETS}."
ALLOWED = f"%%governed -o priced\nIn one sentence: is a {PRICE} reasonable? {BRACKETS}"
ANSWER = (
    "%%governed --code\nimport litellm\n"
    "litellm.completion(model='gpt-4o-mini', messages=[{'role': 'user', 'content': 'price?'}],\n"
    f"                   mock_response={PRICE + ' and ' + BRACKETS + ' and $$y$$'!r})"
)
MARKDOWN_ONLY = (
    "from IPython.display import publish_display_data\n"
    "from axonflow_notebook.notebook.ui.summary import call_summary, state_from_result\n"
    f"summary = call_summary(state_from_result(priced, prompt={ALLOWED.split(chr(10))[1]!r}, "
    "model='gpt-4o-mini'))\n"
    "publish_display_data({'text/markdown': summary.markdown})"
)
POLICIES = "policies = %axonflow policies\npolicies"
POLICIES_MARKDOWN = ("from IPython.display import publish_display_data\n"
                     "publish_display_data({'text/markdown': policies.markdown})")
AUDIT = "%axonflow audit --limit 10"
CELLS = [SETUP, HELD, ALLOWED, ANSWER, MARKDOWN_ONLY, POLICIES, POLICIES_MARKDOWN, AUDIT]
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


def _text(page, index: int) -> str:
    return cell_output(page, index).inner_text()


def test_nothing_is_typeset_as_maths_and_policies_fit(lab_server, page):
    name = lab_server.write_notebook("verbatim.ipynb", CELLS)
    open_notebook(page, lab_server.lab(name))
    run_all(page)

    # The live card (held, in the background): the prompt as typed, no maths.
    live = cell_output(page, 1).locator(".axonflow-call")
    expect(live.locator(".axonflow-approval")).to_be_visible(timeout=60_000)
    wait_all_run(page)
    assert errors(page) == []
    assert PRICE in live.inner_text() and BRACKETS in live.inner_text()

    # Static summaries: a prompt, and an answer (folded in the code cell's row).
    assert PRICE in _text(page, 2) and BRACKETS in _text(page, 2)
    cell_output(page, 3).locator("details summary").first.click()
    expect(cell_output(page, 3).locator(".axonflow-response")).to_be_visible()
    answer = _text(page, 3)
    # The answer is Markdown: `\(` is Markdown's escaped bracket, shown as "(" — not maths.
    assert PRICE in answer and "ref (77) and [x]" in answer and "$$y$$" in answer
    # The same summary as Markdown alone, through JupyterLab's Markdown renderer.
    assert PRICE in _text(page, 4) and BRACKETS in _text(page, 4)

    # The policy table: patterns verbatim, the ids cards show, words for enums, 940 px wide.
    table = cell_output(page, 5).locator(".axonflow-policies")
    text = table.inner_text()
    assert r"\(\s*\d+\s*\)" in text and "(?:;|$)" in text
    for word in ("fin-wire-transfer", "require approval", "block"):
        assert word in text
    assert "PolicyAction" not in text and "PolicySeverity" not in text
    assert not UUID.search(text), UUID.search(text)
    box = table.bounding_box()
    assert box["width"] <= 940, box
    overflow = table.evaluate(
        "el => [...el.querySelectorAll('table')].filter(t => t.scrollWidth > t.clientWidth + 1)"
        ".length")
    assert overflow == 0
    md_policies = _text(page, 6)
    assert r"\(\s*\d+\s*\)" in md_policies and "(?:;|$)" in md_policies

    # The audit trail: costs (two `$` per page) and decisions stay text.
    audit = _text(page, 7)
    assert re.search(r"\$\d+\.\d+", audit) and "allowed" in audit

    assert math_nodes(page) == 0, "MathJax typeset something"
    page.screenshot(path=str(_artifact("verbatim.png")), full_page=True)

    # Finish the held call from its card, so no request is left waiting.
    live.locator(".axonflow-approve").click()
    summary = cell_output(page, 1).locator(".axonflow-summary")
    expect(summary).to_contain_text("approved", timeout=30_000)  # the static summary replaced it
    assert PRICE in summary.inner_text()
    assert math_nodes(page) == 0
    assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                   for o in outputs(page)[1])


def _artifact(name: str):
    from .conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
