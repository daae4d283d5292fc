"""A `%%governed --over` batch in JupyterLab: the live widget's progress advances, "Approve all"
decides every held row (one decision per request), and the saved notebook shows the static summary.
"""

from __future__ import annotations

import json
import re
import time

from playwright.sync_api import expect

from .conftest import ARTIFACTS
from .ui import cell_output, errors, open_notebook, run_all, save, wait_all_run

SETUP = ("%load_ext axonflow_notebook\n"
         "%config GovernedMagics.approval_max_wait_seconds = 300\n"
         "%config GovernedMagics.approval_poll_interval_seconds = 0.5")
FRAME = ("import pandas as pd\n"
         "tickets = pd.DataFrame({'text': ['Please prepare the wire transfer for invoice 8801.', "
         "'Please prepare the wire transfer for invoice 8802.'] + "
         "[f'Summarise support ticket {i}: the export is slow.' for i in range(150)]})")
BATCH = "%%governed --over tickets --into label -o labelled --concurrency 2\nClassify: {text}"
AFTER = "print('AFTER', labelled['label_status'].value_counts().to_dict())"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _done(text: str) -> int:
    found = re.match(r"(\d+) of (\d+) rows", text)
    return int(found.group(1)) if found else -1


def test_a_batch_in_lab_progresses_approves_all_and_saves_its_summary(lab_server, page):
    name = lab_server.write_notebook("batch-approve-all.ipynb", [SETUP, FRAME, BATCH, AFTER])
    open_notebook(page, lab_server.lab(name))
    run_all(page)

    out = cell_output(page, 2)
    done = out.locator(".axonflow-batch-done")
    expect(done).to_be_visible(timeout=90_000)
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the progress moves while the rows run
        value = _done(done.inner_text())
        if value >= 0 and (not seen or value != seen[-1]):
            seen.append(value)
        if value == 150:
            break
        page.wait_for_timeout(150)
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == 150, seen
    expect(out.locator(".axonflow-batch-rate")).to_contain_text("rows/s")

    panel = out.locator(".axonflow-batch-approval")
    expect(panel).to_contain_text("2 waiting for a reviewer")
    expect(panel).to_contain_text("Policy fin-wire-transfer (2)")
    expect(panel.locator(".axonflow-held-row")).to_have_count(2)
    expect(panel).to_contain_text("invoice 8801")
    panel.locator(".axonflow-comment").fill("both invoices checked")
    ARTIFACTS.mkdir(exist_ok=True)
    out.screenshot(path=str(ARTIFACTS / "batch-widget.png"))
    approve_all = panel.locator(".axonflow-approve-all")
    expect(approve_all).to_be_enabled()
    approve_all.click()

    wait_all_run(page)
    assert errors(page) == []
    expect(cell_output(page, 3)).to_contain_text("'allowed': 150")
    expect(cell_output(page, 3)).to_contain_text("'approved': 2")
    summary = out.locator(".axonflow-batch-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("2 approved")
    expect(out.locator(".axonflow-batch-approval")).to_have_count(0)  # the live widget is gone
    out.screenshot(path=str(ARTIFACTS / "batch-summary.png"))

    save(page)
    saved = json.loads((lab_server.root / name).read_text())
    outputs = saved["cells"][2]["outputs"]
    assert outputs and all(WIDGET_VIEW not in o.get("data", {}) for o in outputs)
    html = "".join("".join(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert "AxonFlow batch — 152 rows" in html and "150 allowed" in html and "2 approved" in html
    text = "".join("".join(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert text.startswith("AxonFlow batch: 152/152 rows")
