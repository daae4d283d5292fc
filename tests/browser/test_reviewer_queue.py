"""Issue 5, browser test 3: a reviewer's queue in one tab approves a request made by a cell that
is waiting in another notebook (another kernel, another embedded agent on the same store); the
waiting cell finishes."""

from __future__ import annotations

from playwright.sync_api import expect

from .ui import cell_output, errors, open_notebook, run_all, wait_all_run

SETUP = "%load_ext axonflow_notebook"
PROMPT = "Prepare the wire transfer of 730 EUR to Harbour Catering for invoice 3141."
REQUESTER = [SETUP, f"%%governed -o transfer\n{PROMPT}", "print('DONE', transfer.approval.status)"]
REVIEWER = [SETUP, "%axonflow queue"]


def test_queue_in_another_notebook_approves_a_waiting_cell(lab_server, browser, page):
    requester_nb = lab_server.write_notebook("analyst.ipynb", REQUESTER)
    reviewer_nb = lab_server.write_notebook("reviewer.ipynb", REVIEWER)

    open_notebook(page, lab_server.lab(requester_nb))
    run_all(page)
    panel = cell_output(page, 1).locator(".axonflow-approval")
    expect(panel).to_be_visible(timeout=60_000)  # the analyst's cell is waiting

    reviewer = page.context.new_page()  # a second tab, its own notebook and kernel
    reviewer.set_default_timeout(30_000)
    open_notebook(reviewer, lab_server.lab(reviewer_nb))
    run_all(reviewer)
    queue = cell_output(reviewer, 1).locator(".axonflow-queue")
    row = queue.locator(".axonflow-queue-row", has_text="Harbour Catering")
    expect(row).to_be_visible(timeout=60_000)
    row.locator("input[type=checkbox]").check()
    queue.locator("textarea").press_sequentially("Invoice 3141 matches the purchase order",
                                                 delay=20)
    approve = queue.locator(".axonflow-queue-approve")
    expect(approve).to_be_enabled()
    approve.click()
    expect(queue).to_contain_text("1 request approved", timeout=30_000)
    reviewer.screenshot(path=str(_artifact("reviewer-queue-tab.png")), full_page=True)

    page.bring_to_front()
    wait_all_run(page, timeout=60_000)
    assert errors(page) == []
    expect(cell_output(page, 1)).to_contain_text("Invoice 3141 matches the purchase order")
    expect(cell_output(page, 2)).to_contain_text("DONE approved")
    reviewer.close()


def _artifact(name: str):
    from .conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
