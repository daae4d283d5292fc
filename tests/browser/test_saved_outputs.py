"""Issue 11, item 3: outputs that are widgets read as text and tables once saved.

A `%axonflow queue` output and a held cell are saved while the request waits, the kernel is shut
down, and the notebook is reopened:

- as someone else's (untrusted) notebook without a kernel, and through nbconvert's HTML exporter,
  with JupyterLab's default settings (no widget state saved): the static fallback every widget
  bundle carries shows — text and tables, no "Error displaying widget", no widget repr;
- as the user's own (trusted) notebook with a new kernel, in a Lab that saves widget state (the
  `@jupyter-widgets/jupyterlab-manager:plugin` setting `saveState`): the widget is restored
  from that state and draws its last state as a snapshot.

A finished `--background` handle says how it ended, never "running".
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from .ui import (
    cell_output,
    math_nodes,
    open_notebook,
    open_without_kernel,
    run_all,
    save,
    wait_all_run,
)

SETUP = "%load_ext axonflow_notebook\n%config GovernedMagics.approval_max_wait_seconds = 900"
QUEUE = "%axonflow queue"
HELD = ("%%governed -o transfer\n"
        "Draft the wire transfer of $1,200 plus a $15 fee to Harbour Catering for invoice {n}.")
SHOWN = ("AxonFlow approval queue", "Needs approval", "Human approval — pending",
         "fin-wire-transfer", "$1,200 plus a $15 fee")
NEVER = ("Error displaying widget", "model not found", "Loading widget", "VBox(", "object at 0x")
WIDGET_STATE = "@jupyter-widgets/jupyterlab-manager:plugin"


def _saved_models(path) -> int:
    meta = json.loads(path.read_text())["metadata"]
    return len(meta.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
               .get("state", {}))


def _save_while_waiting(page, lab_server, name: str, invoice: int, *,
                        with_state: bool = False) -> None:
    """Run the notebook, wait until the queue lists the held request, save, stop the kernel."""
    lab_server.write_notebook(name, [SETUP, QUEUE, HELD.format(n=invoice)])
    open_notebook(page, lab_server.lab(name))
    run_all(page)
    expect(cell_output(page, 2).locator(".axonflow-approval")).to_be_visible(timeout=60_000)
    row = cell_output(page, 1).locator(".axonflow-queue-row", has_text=f"invoice {invoice}")
    expect(row).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1000)  # the queue's saved form follows its rows: let that land
    save(page)
    if with_state and _saved_models(lab_server.root / name) < 2:
        # The setting reaches the widget manager asynchronously after the page loads.
        page.wait_for_timeout(2000)
        page.evaluate("() => { window.jupyterapp.shell.currentWidget.context.model.dirty = true; }")
        save(page)
    assert _saved_models(lab_server.root / name) >= (2 if with_state else 0)
    lab_server.shutdown_kernels()


def _outputs_text(page) -> str:
    """The text of every output (not the cells' sources), in Lab or in nbconvert's page."""
    return "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())


def _assert_readable(text: str, where: str, invoice: int) -> None:
    assert text.count(f"invoice {invoice}") >= 2, f"the queue and the cell name invoice {invoice}"
    for word in SHOWN:
        assert word in text, f"{word!r} missing from {where}"
    for bad in NEVER:
        assert bad not in text, f"{bad!r} shown in {where}"


def test_saved_while_waiting_reads_without_a_kernel_and_through_nbconvert(lab_server, page, browser):
    _save_while_waiting(page, lab_server, "waiting.ipynb", 512)

    open_without_kernel(page, lab_server, lab_server.root / "waiting.ipynb", "waiting-copy.ipynb")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel.locator(".axonflow-queue-snapshot table")).to_be_visible(timeout=30_000)
    expect(panel.locator(".axonflow-approval-record")).to_be_visible()
    _assert_readable(_outputs_text(page), "the reopened notebook", 512)
    assert math_nodes(page) == 0
    page.screenshot(path=str(_artifact("saved-waiting-untrusted.png")), full_page=True)

    done = lab_server.run("nbconvert", "--to", "html", "waiting.ipynb", "--output", "waiting")
    assert done.returncode == 0, done.stderr[-2000:]
    offline = browser.new_context(viewport={"width": 1200, "height": 1200}, offline=True)
    try:
        html_page = offline.new_page()
        html_page.goto((lab_server.root / "waiting.html").as_uri())
        expect(html_page.locator(".axonflow-queue-snapshot table")).to_be_visible()
        expect(html_page.locator(".axonflow-approval-record")).to_be_visible()
        _assert_readable(_outputs_text(html_page), "nbconvert's HTML", 512)
        html_page.wait_for_timeout(2000)  # MathJax (from a CDN) would have nothing to do anyway
        assert html_page.locator("mjx-container, .MathJax").count() == 0
        html_page.screenshot(path=str(_artifact("saved-waiting-nbconvert.png")), full_page=True)
    finally:
        offline.close()


@pytest.fixture
def widget_state_saved(lab_server):
    lab_server.set_setting(WIDGET_STATE, {"saveState": True})
    try:
        yield
    finally:
        lab_server.set_setting(WIDGET_STATE, {"saveState": False})


def test_saved_widget_state_reopens_as_a_snapshot(lab_server, page, widget_state_saved):
    _save_while_waiting(page, lab_server, "waiting-state.ipynb", 513, with_state=True)

    open_notebook(page, lab_server.lab("waiting-state.ipynb"))  # trusted: its own, a new kernel
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel.locator(".axonflow-queue.axonflow-snapshot")).to_be_visible(timeout=30_000)
    expect(panel.locator(".axonflow-call.axonflow-snapshot .axonflow-approval")).to_be_visible()
    page.wait_for_timeout(3000)  # an unrestorable widget would say so by now
    text = _outputs_text(page)
    _assert_readable(text, "the reopened notebook", 513)
    assert "not live" in text and "Waits until" in text
    # A snapshot offers nothing to click: no kernel could receive it.
    assert panel.locator(".axonflow-approve:visible, .axonflow-queue-approve:visible").count() == 0
    assert math_nodes(page) == 0
    page.screenshot(path=str(_artifact("saved-waiting-snapshot.png")), full_page=True)


def test_finished_background_handle_says_how_it_ended(lab_server, page):
    cells = ["%load_ext axonflow_notebook",
             "%%governed --background -o later\nName three colours.",
             "print('DONE', _governed_handle.result(timeout=60).ok)"]
    name = lab_server.write_notebook("background.ipynb", cells)
    open_notebook(page, lab_server.lab(name))
    run_all(page)
    wait_all_run(page)
    expect(cell_output(page, 2)).to_contain_text("DONE True")
    handle = cell_output(page, 1).locator(".axonflow-handle")
    expect(handle).to_contain_text("done", timeout=10_000)
    assert not re.search(r"\brunning\b", handle.inner_text())


def _artifact(name: str):
    from .conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
