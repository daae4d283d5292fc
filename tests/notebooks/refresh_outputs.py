"""Re-execute the demo notebooks and save their outputs, the way they are committed.

    .venv/bin/python tests/notebooks/refresh_outputs.py [01-quickstart.ipynb ...]

Runs each notebook with nbclient in the environment CI uses (no LLM keys, no AxonFlow endpoint,
a fresh data directory, no telemetry), then keeps only what reads well without a kernel: the
static summaries the extension leaves behind. An output that is still a live widget (the reviewer
queue) keeps the static fallback it carries in the same bundle and loses its widget reference,
widget state is not stored, and per-cell execution timings are removed to keep diffs small. The
local agent the notebooks started is stopped at the end.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete
from nbclient.util import ensure_async

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SCRUBBED = ("AXONFLOW_", "OPENAI_", "ANTHROPIC_", "AZURE_", "GEMINI_", "MISTRAL_")


def clean_environment() -> Path:
    """The environment CI runs the notebooks in; returns the temporary root it lives in."""
    root = Path(tempfile.mkdtemp(prefix="axonflow-notebooks-"))
    for key in [k for k in os.environ if k.startswith(SCRUBBED)]:
        del os.environ[key]
    os.environ.update(
        AXONFLOW_TELEMETRY="off",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        XDG_DATA_HOME=str(root / "data"),
        AXONFLOW_RUNTIME_DIR=str(root / "agent-runtime"),
        IPYTHONDIR=str(root / "ipython"),
    )
    return root


def static_outputs(nb) -> int:
    """Strip widget references and timings; return how many widget views were replaced by the
    static fallback saved beside them."""
    replaced = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            data = output.get("data")
            if data and WIDGET_VIEW in data:
                replaced += 1
                del data[WIDGET_VIEW]
                if set(data) <= {"text/plain"}:  # a widget with no static form: nothing to read
                    continue
            kept.append(output)
        cell.outputs = kept
    nb.metadata.pop("widgets", None)
    return replaced


class SavingClient(NotebookClient):
    """nbclient, keeping the display updates a later cell's time brings to an earlier cell's
    output (a `--background` call's card and handle end while the next cells run), as JupyterLab
    does: nbclient itself only reads messages of the cell it is running."""

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            if msg["parent_header"].get("msg_id") == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except CellExecutionComplete:
                    return
            elif msg["header"]["msg_type"] == "update_display_data":
                display_id = (msg["content"].get("transient") or {}).get("display_id")
                if display_id:
                    self._update_display_id(display_id, msg)


def refresh(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    started = time.monotonic()
    SavingClient(
        nb, timeout=300, kernel_name="python3", store_widget_state=False,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    replaced = static_outputs(nb)
    nbformat.write(nb, str(path))
    print(f"{path.name}: {time.monotonic() - started:.1f} s, {replaced} live widget view(s) "
          "saved as their static form")


def main(names: list[str]) -> int:
    from axonflow_notebook.testing.agents import stop_local_agents

    root = clean_environment()
    paths = [NOTEBOOKS / n for n in names] if names else sorted(NOTEBOOKS.glob("0*.ipynb"))
    try:
        for path in paths:
            refresh(path)
    finally:
        stop_local_agents(root / "data" / "axonflow-notebook", runtime_dir=str(root / "agent-runtime"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
