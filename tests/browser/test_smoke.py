"""The fixture itself: a real JupyterLab and Notebook 7 render a kernel's output in Chromium."""

import pytest
from playwright.sync_api import expect

from .ui import cell_output, errors, open_notebook, run_all, wait_all_run


@pytest.mark.parametrize("frontend", ["lab", "notebook7"])
def test_frontend_runs_a_cell(lab_server, page, frontend):
    name = lab_server.write_notebook(f"smoke-{frontend}.ipynb", ["print('hello from the kernel')"])
    open_notebook(page, getattr(lab_server, frontend)(name))
    run_all(page)
    wait_all_run(page)
    expect(cell_output(page, 0)).to_contain_text("hello from the kernel")
    assert errors(page) == []
