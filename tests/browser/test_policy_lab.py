"""Issue 15 in JupyterLab: a policy cell's change table, a prompt test's highlighted spans, an
explanation and the what-if widget render verbatim (no maths, no markup from the user's text,
nothing executed), and the overlapping matches read as two."""

from __future__ import annotations

from playwright.sync_api import expect

from .ui import cell_output, errors, math_nodes, open_notebook, run_all, wait_all_run

SETUP = "%load_ext axonflow_notebook"
POLICY_CELL = r"""%%axonflow_policy
policies:
  - id: codename
    name: Project codenames
    pattern: '(?i)\bproject\s+falcon\b'
    action: redact
  - id: falcon-word
    name: The word falcon
    pattern: '(?i)falcon\w*'
    action: warn
    priority: 90
  - id: price-tag
    name: Prices like $5 <b>bold</b>
    pattern: '\$\d+'
    action: log
    priority: 80
"""
HOSTILE = ("<img src=x onerror=\"window.__pwned=1\"> project falcon's falconry costs $5 and $x^2$ "
           "\\(y\\) <script>window.__pwned=2</script>")
TEST_CELL = f"%%axonflow test\n{HOSTILE}"
BLOCKED = "%%governed -o blocked --no-raise\nSummarise the Project Nightingale roadmap: $5 and \\(x\\)."
EXPLAIN = "blocked.explain()"
WHAT_IF = ("import axonflow_notebook\n"
           "draft = '''policies:\n  - {id: codename, name: Codenames, pattern: '(?i)project\\\\s+falcon', "
           "action: block}\n'''\n"
           "axonflow_notebook.what_if(draft, ['project falcon now <b>bold</b> for $5 and $6', 'hello <i>there</i>'])")
CELLS = [SETUP, POLICY_CELL, TEST_CELL, BLOCKED, EXPLAIN, WHAT_IF]


def test_policy_lab_outputs_render_verbatim(lab_server, page):
    name = lab_server.write_notebook("policy_lab.ipynb", CELLS)
    open_notebook(page, lab_server.lab(name))
    run_all(page)
    wait_all_run(page)
    assert errors(page) == []

    change = cell_output(page, 1).locator(".axonflow-policy-change")
    expect(change).to_be_visible()
    text = change.inner_text()
    for shown in ("codename", "falcon-word", "price-tag", "added", r"\$\d+", "Prices like $5 <b>bold</b>",
                  "Version in force"):
        assert shown in text, shown
    assert change.locator("b").count() == 0  # the name's markup is text

    test = cell_output(page, 2).locator(".axonflow-policy-test")
    expect(test).to_be_visible()
    highlight = test.locator(".axonflow-highlight").first  # (the second: what the model would receive)
    plain = highlight.evaluate("n => { const c = n.cloneNode(true); "
                               "c.querySelectorAll('sup').forEach(s => s.remove()); return c.textContent; }")
    assert plain == HOSTILE + "\n"  # every character, in order, as text (the cell body ends with a newline)
    overlap = highlight.locator('mark[data-policies="codename falcon-word"]')
    expect(overlap).to_have_text("falcon")
    assert highlight.locator("mark").count() == 4  # "project ", "falcon" (both policies), "falconry", "$5"
    assert test.locator("img, script").count() == 0
    assert page.evaluate("() => window.__pwned === undefined")

    explanation = cell_output(page, 4).locator(".axonflow-explanation")
    expect(explanation).to_be_visible()
    body = explanation.inner_text()
    assert "Evaluation stopped at project-nightingale" in body and "$5 and \\(x\\)" in body
    expect(explanation.locator('mark[data-policies="project-nightingale"]')).to_have_text("Project Nightingale")
    explanation.locator(".axonflow-evaluation-order summary").click()
    expect(explanation.locator(".axonflow-evaluation-order table")).to_be_visible()

    widget = cell_output(page, 5).locator(".axonflow-what_if")
    expect(widget).to_be_visible(timeout=30_000)
    assert "1 of 2 decisions would change" in widget.inner_text()
    assert "project falcon now <b>bold</b> for $5 and $6" in widget.inner_text()
    assert widget.locator("b, i").count() == 0  # the prompt's markup is text
    widget.locator(".axonflow-what-if-tab-policies").click()
    expect(widget.locator("table")).to_contain_text("codename")
    assert math_nodes(page) == 0
