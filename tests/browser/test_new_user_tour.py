"""A new user's first session in JupyterLab, every capability in one notebook, saved and reopened.

One prompt, a held call approved with a comment, a policy written in a cell and tested, a blocked
call explained, a budget set, a batch over a DataFrame under it, the audit trail, the report, the
journal verified and exported, the trail as a DataFrame, the reviewer queue. Then the notebook is
saved and reopened without a kernel, untrusted, as a colleague would open it: every output reads
as text and tables, none is an error, a widget placeholder or maths. Screenshots of both go to
test-artifacts/ (new-user-tour-live.png, new-user-tour-reopened.png).
"""

from __future__ import annotations

import json

from playwright.sync_api import expect

from .conftest import ARTIFACTS
from .ui import cell, cell_output, errors, math_nodes, notebook_text, open_notebook, open_without_kernel, \
    run_all, save, wait_all_run

CELLS = [
    "%load_ext axonflow_notebook\n"
    "%config GovernedMagics.approval_max_wait_seconds = 300\n"
    "%config GovernedMagics.approval_poll_interval_seconds = 0.5",
    "%%governed -o answer\nSummarise our Q3 churn drivers in three bullets.",
    "%%governed -o transfer\nDraft the wire transfer of $2,500 to ACME Ltd for invoice 77.",
    "%%axonflow_policy\npolicies:\n  - id: project-falcon\n    name: Project Falcon is confidential\n"
    "    pattern: '(?i)\\bproject\\s+falcon\\b'\n    action: block\n"
    "    description: Project Falcon is not discussed with a model",
    "%axonflow test What is the status of project falcon? It costs $5 and $6.",
    "%%governed --no-raise -o falcon\nWhat is the status of project falcon?",
    "falcon.explain()",
    "%axonflow budget set tour-cap --limit 5 --period daily --scope workflow --action block",
    "import pandas as pd\n"
    "tickets = pd.DataFrame({'text': [f'Summarise support ticket {i}: the export is slow.' for i in range(12)]})",
    "%%governed --over tickets --into label -o labelled --concurrency 4\nClassify in one word: {text}",
    "labelled[['text', 'label', 'label_status']].head(3)",
    "%axonflow budget",
    "%axonflow audit --limit 10",
    "%axonflow report",
    "%axonflow verify",
    "%axonflow export --out tour-evidence.zip",
    "import axonflow_notebook\n"
    "axonflow_notebook.audit_frame(source='local')[['decision', 'model', 'policies']].tail(3)",
    "%axonflow queue",
]
NEVER = ("Error displaying widget", "model not found", "Loading widget", "VBox(", "object at 0x",
         "Traceback")


def test_a_new_users_first_notebook_runs_saves_and_reopens(lab_server, page):
    name = lab_server.write_notebook("new-user-tour.ipynb", CELLS)
    open_notebook(page, lab_server.lab(name))
    run_all(page)

    held = cell_output(page, 2)
    expect(held.locator(".axonflow-approval")).to_contain_text("fin-wire-transfer", timeout=90_000)
    held.locator(".axonflow-comment").press_sequentially("PO 77 checked by finance", delay=40)
    held.locator(".axonflow-approve").click()
    wait_all_run(page, timeout=240_000)

    assert errors(page) == []
    expect(cell_output(page, 2)).to_contain_text("approved")
    expect(cell_output(page, 2)).to_contain_text("PO 77 checked by finance")
    expect(cell_output(page, 4)).to_contain_text("project-falcon")
    expect(cell_output(page, 5)).to_contain_text("Blocked")
    expect(cell_output(page, 6)).to_contain_text("project-falcon")
    expect(cell_output(page, 9)).to_contain_text("12 rows of gpt-4o-mini")
    expect(cell_output(page, 9)).to_contain_text("12 allowed")
    expect(cell_output(page, 11)).to_contain_text("tour-cap")
    expect(cell_output(page, 14)).to_contain_text("intact")
    text = notebook_text(page)
    assert "$2,500" in text and "$5 and $6" in text  # dollars stay text, not maths
    assert math_nodes(page) == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "new-user-tour-live.png"), full_page=True)
    for index in (2, 4, 6, 9, 13):
        cell(page, index).screenshot(path=str(ARTIFACTS / f"new-user-tour-cell-{index}.png"))
    save(page)

    saved = json.loads((lab_server.root / name).read_text())
    assert "tour-evidence.zip" in json.dumps(saved["cells"][15]["outputs"])
    open_without_kernel(page, lab_server, lab_server.root / name, "new-user-tour-reopened.ipynb")
    reopened = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
    expect(reopened).to_contain_text("PO 77 checked by finance", timeout=30_000)
    page.wait_for_timeout(1500)  # let every output render
    text = notebook_text(page)
    for bad in NEVER:
        assert bad not in text, bad
    for expected in ("approved", "project-falcon", "12 allowed", "tour-cap", "intact", "$2,500"):
        assert expected in text, expected
    assert math_nodes(page) == 0
    page.screenshot(path=str(ARTIFACTS / "new-user-tour-reopened.png"), full_page=True)
