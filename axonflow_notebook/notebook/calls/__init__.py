"""The calls layer: what one governed call, code cell or background call does, given its context.

The magics build a frozen `CallContext` (context.py) and hand it to a `PromptCall` (prompt.py),
a `CodeCell` (code_cell.py) or a background run (`PromptCall.run_background`, background.py).
Below the magics nothing reads settings or calls back into the magics object: the backend comes
from `NotebookRuntime` (runtime.py, holder.py, backend.py, local_agent.py), approvals from
approvals.py, simulation from simulation.py, and views only from `axonflow_notebook.notebook.ui`.
Submodules are imported where they are used, so `%load_ext` loads none of the heavy ones.
"""
