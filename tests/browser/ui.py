"""Small helpers that drive JupyterLab / Notebook 7 through `window.jupyterapp`.

They do what keeps JupyterLab tests deterministic: open with `?reset` (a fresh workspace), wait
for an idle kernel before running, start "run all" without returning its promise, and read
results from the notebook model rather than from pixels wherever a test only needs to know what
happened.
"""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"

_CURRENT = "window.jupyterapp && window.jupyterapp.shell.currentWidget"

_KERNEL_IDLE = f"""() => {{
  const w = {_CURRENT};
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}}"""

# True when "run all" has finished: the kernel is idle, no cell is queued or running, and either
# every code cell has run or one of them failed (Run All stops at an error).
_ALL_RUN = f"""() => {{
  const w = {_CURRENT};
  if (!w || !w.content) return false;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  if (!k || k.status !== 'idle') return false;
  const code = w.content.widgets.filter(c => c.model.type === 'code');
  if (code.some(c => c.promptNode && c.promptNode.textContent.includes('*'))) return false;
  const failed = code.some(c => c.model.outputs.toJSON().some(o => o.output_type === 'error'
    && !(c.model.getMetadata('tags') || []).includes('raises-exception')));
  return failed || code.every(c => c.model.executionCount !== null);
}}"""

_OUTPUTS = f"""() => {{
  const w = {_CURRENT};
  return w.content.widgets.map(c => c.model.type === 'code' ? c.model.outputs.toJSON() : []);
}}"""


def open_notebook(page, url: str, timeout: float = 90_000) -> None:
    """Open a notebook (Lab or Notebook 7 URL) and wait until its kernel is idle."""
    page.goto(url)
    page.wait_for_function(
        f"() => {{ const w = {_CURRENT}; return !!(w && w.content && w.sessionContext); }}",
        timeout=timeout,
    )
    wait_kernel_idle(page, timeout)


def wait_kernel_idle(page, timeout: float = 90_000) -> None:
    page.wait_for_function(_KERNEL_IDLE, timeout=timeout)


def run_all(page) -> None:
    """Start "Run All" and return at once (the command's promise resolves only at the end)."""
    page.evaluate("() => { void window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def run_cell(page, index: int) -> None:
    """Select code cell `index` (0-based, over all cells) and run it without waiting."""
    page.evaluate(
        f"""() => {{
          const w = {_CURRENT};
          w.content.activeCellIndex = {index};
          w.content.deselectAll();
          void window.jupyterapp.commands.execute('notebook:run-cell');
        }}"""
    )


def wait_all_run(page, timeout: float = 120_000) -> None:
    page.wait_for_function(_ALL_RUN, timeout=timeout, polling=250)


def outputs(page) -> list:
    """The outputs of every cell (nbformat JSON, [] for non-code cells), from the live model."""
    return page.evaluate(_OUTPUTS)


def errors(page) -> list[str]:
    """One line per error output in the current notebook: 'cell N: ename: evalue'."""
    found = []
    for index, cell_outputs in enumerate(outputs(page)):
        for output in cell_outputs:
            if output.get("output_type") == "error":
                found.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
    return found


def cell(page, index: int):
    """Locator of cell `index` (0-based) in the visible notebook."""
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)


def cell_output(page, index: int):
    """The output area of cell `index` (all of its outputs)."""
    return cell(page, index).locator(".jp-Cell-outputArea")


def dump(value) -> str:
    return json.dumps(value, indent=1)[:4000]


def save(page) -> None:
    """Save the current notebook and wait until the file on disk has it."""
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=15_000
    )


def open_without_kernel(page, lab_server, source: Path, name: str) -> None:
    """Open a copy of a saved notebook under a kernel name that does not exist, as "No Kernel".

    The copy is an edit the notebook's signature does not cover, so it opens untrusted, as a
    notebook someone else saved does.
    """
    from playwright.sync_api import expect

    nb = json.loads(source.read_text())
    nb["metadata"]["kernelspec"] = {"name": "absent-kernel", "display_name": "absent"}
    nb["metadata"].pop("language_info", None)  # else Lab picks a kernel by language
    (lab_server.root / name).write_text(json.dumps(nb))
    page.goto(lab_server.lab(name))
    page.locator(".jp-Dialog").get_by_role("button", name="No Kernel", exact=True).click(
        timeout=30_000
    )
    expect(page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")).to_be_visible()


def notebook_text(page) -> str:
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").inner_text()


def math_nodes(page) -> int:
    """How many elements MathJax made in the visible notebook (it should make none)."""
    return page.locator(
        ".jp-NotebookPanel:not(.lm-mod-hidden) mjx-container, "
        ".jp-NotebookPanel:not(.lm-mod-hidden) .MathJax"
    ).count()
