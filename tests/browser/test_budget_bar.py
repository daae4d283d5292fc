"""Issue 16: the budget bar as JupyterLab draws it, live and saved.

A notebook sets a budget of its own (scope workflow: this notebook's path, which Jupyter gives
its kernel), makes one call, then one held for approval. While held, the live card (drawn by
static/call_card.js from its synced state) shows the budget used by the first call; once
approved, its static summary shows both calls' share. `%axonflow budget` draws the same bar.
The budget's name carries dollar signs: nothing may be typeset as maths, live or saved.
"""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import ARTIFACTS
from .ui import cell_output, errors, math_nodes, open_notebook, open_without_kernel, run_all, save, wait_all_run

NAME = "Lab $5 budget $x$"
CELLS = [
    "%load_ext axonflow_notebook",
    # one simulated gpt-4o-mini call costs $0.0000135 (LiteLLM's price list): 33.75% of this limit
    f"%axonflow budget set nb-bar --limit 0.00004 --period daily --scope workflow --action block --name '{NAME}'",
    "%%governed -o first\nName one colour.",
    "%%governed -o transfer\nDraft the wire transfer of $1,200 to Harbour Catering for invoice 9090.",
    "%axonflow budget",
]
WIDTHS = """bar => {
  const whole = bar.getBoundingClientRect().width;
  const part = (cls) => { const e = bar.querySelector(cls); return e ? e.getBoundingClientRect().width / whole * 100 : 0; };
  return [part('.axonflow-budget-used'), part('.axonflow-budget-added')];
}"""


def _widths(locator) -> list:
    return locator.evaluate(WIDTHS)


def test_the_budget_bar_live_and_saved(lab_server, page):
    name = lab_server.write_notebook("budget-bar.ipynb", CELLS)
    open_notebook(page, lab_server.lab(name))
    run_all(page)

    held = cell_output(page, 3)
    expect(held.locator(".axonflow-approval")).to_be_visible(timeout=90_000)
    live = held.locator(".axonflow-live .axonflow-spend")  # drawn by the widget's JS
    expect(live).to_be_visible()
    expect(live).to_contain_text(NAME)
    expect(live).to_contain_text("This call")
    used, added = _widths(live.locator(".axonflow-budget-bar"))
    assert abs(used - 33.75) < 0.5 and added < 0.5, (used, added)
    assert math_nodes(page) == 0
    live.screenshot(path=str(ARTIFACTS / "budget-bar-live.png"))

    held.locator(".axonflow-approve").click()
    wait_all_run(page)
    assert errors(page) == []
    first = cell_output(page, 2).locator(".axonflow-summary .axonflow-spend")
    expect(first).to_contain_text("34%")
    used, added = _widths(first.locator(".axonflow-budget-bar"))
    assert used < 0.5 and abs(added - 33.75) < 0.5, (used, added)  # all of it this call's
    final = held.locator(".axonflow-summary .axonflow-spend")
    expect(final).to_contain_text("68%")
    used, added = _widths(final.locator(".axonflow-budget-bar"))
    assert abs(used - 33.75) < 0.5 and abs(added - 33.75) < 0.5, (used, added)
    table = cell_output(page, 4).locator(".axonflow-budgets")
    expect(table).to_contain_text(NAME)
    expect(table).to_contain_text("covers this notebook")
    (bar_used, _) = _widths(table.locator(".axonflow-budget-bar"))
    assert abs(bar_used - 67.5) < 0.5, bar_used
    table.screenshot(path=str(ARTIFACTS / "budget-table.png"))
    assert math_nodes(page) == 0
    held.screenshot(path=str(ARTIFACTS / "budget-bar-summary.png"))

    save(page)
    lab_server.shutdown_kernels()
    open_without_kernel(page, lab_server, lab_server.root / name, "budget-bar-reopened.ipynb")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    bars = panel.locator(".axonflow-spend .axonflow-budget-bar")
    expect(bars).to_have_count(2, timeout=30_000)
    used, added = _widths(bars.nth(1))
    assert abs(used - 33.75) < 0.5 and abs(added - 33.75) < 0.5, (used, added)
    expect(panel.locator(".axonflow-budgets")).to_contain_text(NAME)
    assert panel.locator(".axonflow-live").count() == 0  # static summaries, no widget
    assert math_nodes(page) == 0
