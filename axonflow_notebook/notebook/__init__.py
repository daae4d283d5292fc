"""IPython entry points: `%load_ext axonflow_notebook` registers the magics and the
await transformer; `%unload_ext` takes both away and stops anything the extension started.

Loading must stay under 0.15 s, so nothing here imports LiteLLM, the AxonFlow SDK or the agent.
"""

from __future__ import annotations

from typing import Any

_STATE_KEY = "_axonflow_notebook_state"


def load_ipython_extension(ipython: Any) -> None:
    from .magics import AwaitGovernedCells, GovernedMagics, keep_question_marks

    unload_ipython_extension(ipython)  # %load_ext after a failed unload: never register twice
    magics = GovernedMagics(ipython)
    transformer = AwaitGovernedCells(ipython)
    ipython.register_magics(magics)
    ipython.input_transformers_post.append(transformer)
    ipython.input_transformer_manager.cleanup_transforms.append(keep_question_marks)
    setattr(ipython, _STATE_KEY, (magics, transformer, keep_question_marks))


def unload_ipython_extension(ipython: Any) -> None:
    state = getattr(ipython, _STATE_KEY, None)
    if state is None:
        return
    magics, transformer, cleanup = state
    delattr(ipython, _STATE_KEY)
    while transformer in ipython.input_transformers_post:
        ipython.input_transformers_post.remove(transformer)
    cleanups = ipython.input_transformer_manager.cleanup_transforms
    while cleanup in cleanups:
        cleanups.remove(cleanup)
    manager = ipython.magics_manager
    for kind, names in magics.magics.items():
        table = manager.magics[kind]
        for name in names:
            if getattr(table.get(name), "__self__", None) is magics:
                del table[name]
    if manager.registry.get(type(magics).__name__) is magics:
        del manager.registry[type(magics).__name__]
    if magics in ipython.configurables:
        ipython.configurables.remove(magics)
    magics.runtime.close()
