"""Issue 5, browser test 6: the quickstart runs top to bottom in JupyterLab and in Notebook 7."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from .ui import NOTEBOOKS, cell, open_notebook, outputs, run_all, wait_all_run


def _fresh_copy(lab_server, name: str) -> str:
    """The committed quickstart with its saved outputs cleared, so the run is this test's own."""
    nb = json.loads((NOTEBOOKS / "01-quickstart.ipynb").read_text())
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            c["outputs"], c["execution_count"] = [], None
    (lab_server.root / name).write_text(json.dumps(nb))
    return name


def _tagged(page) -> list[bool]:
    return page.evaluate(
        """() => window.jupyterapp.shell.currentWidget.content.widgets.map(
             c => (c.model.getMetadata('tags') || []).includes('raises-exception'))"""
    )


@pytest.mark.parametrize("frontend", ["lab", "notebook7"])
def test_quickstart_runs_in(lab_server, page, frontend):
    name = _fresh_copy(lab_server, f"quickstart-{frontend}.ipynb")
    open_notebook(page, getattr(lab_server, frontend)(name))
    run_all(page)
    wait_all_run(page, timeout=240_000)

    all_outputs, tagged = outputs(page), _tagged(page)
    unexpected = [
        f"cell {i}: {o.get('ename')}: {o.get('evalue')}"
        for i, cell_outputs in enumerate(all_outputs)
        for o in cell_outputs
        if o.get("output_type") == "error" and not tagged[i]
    ]
    assert unexpected == []
    # The tagged cell is the blocked prompt injection: it stopped with a short error.
    blocked = [o for i, outs in enumerate(all_outputs) if tagged[i] for o in outs
               if o.get("output_type") == "error"]
    assert len(blocked) == 1 and len(blocked[0]["traceback"]) <= 2, blocked
    last_code = max(i for i, outs in enumerate(all_outputs) if outs)
    expect(cell(page, last_code).locator(".axonflow-summary")).to_be_visible()
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    assert "Error displaying widget" not in panel.inner_text()
