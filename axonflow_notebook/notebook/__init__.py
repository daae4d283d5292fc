"""IPython entry points: `%load_ext axonflow_notebook` registers the magics and the input
transformers; `%unload_ext` takes them all away and closes what the extension opened.

Loading must stay under 0.15 s, so nothing here imports LiteLLM, the AxonFlow SDK, pydantic,
the widget libraries or the agent. The package is in three layers, imports pointing down only
(checked by import-linter, pyproject.toml): the IPython glue (this module, magics.py, args.py,
settings.py, subcommands.py, transformers.py, expand.py), the calls layer (calls/), the UI (ui/).
"""

from __future__ import annotations

from typing import Any

_STATE_KEY = "_axonflow_notebook_state"


def load_ipython_extension(ipython: Any) -> None:
    import logging

    from .frames import install as install_frames
    from .lab_commands import register_formatters
    from .magics import GovernedMagics
    from .transformers import AwaitGovernedCells, EndCellAtBlankLine, is_terminal, keep_question_marks

    unload_ipython_extension(ipython)  # %load_ext after a failed unload: never register twice
    magics = GovernedMagics(ipython)
    transformer = AwaitGovernedCells(ipython)
    ipython.register_magics(magics)
    ipython.input_transformers_post.append(transformer)
    ipython.input_transformer_manager.cleanup_transforms.append(keep_question_marks)
    blank_line = EndCellAtBlankLine(ipython) if is_terminal(ipython) else None
    if blank_line is not None:
        blank_line.install()
    register_formatters(ipython)  # how the policy lab's records display (by name: nothing imported)
    uninstall_frames = install_frames(magics)  # df.governed, once pandas is imported
    from .evidence_hooks import install as install_evidence  # provenance of every call (issue 14)

    evidence = install_evidence(ipython, magics)
    setattr(ipython, _STATE_KEY, (magics, transformer, keep_question_marks, blank_line, uninstall_frames, evidence))
    # What the core logs (a skipped pre-check, an audit not recorded) the card already says; with
    # no logging configured, Python would print it again as red stderr under the card. A library's
    # NullHandler: https://docs.python.org/3/howto/logging.html#configuring-logging-for-a-library
    package_log = logging.getLogger("axonflow_notebook")
    if not any(isinstance(h, logging.NullHandler) for h in package_log.handlers):
        package_log.addHandler(logging.NullHandler())


def unload_ipython_extension(ipython: Any) -> None:
    state = getattr(ipython, _STATE_KEY, None)
    if state is None:
        return
    magics, transformer, cleanup, blank_line, uninstall_frames, evidence = state
    delattr(ipython, _STATE_KEY)
    uninstall_frames()
    evidence()
    while transformer in ipython.input_transformers_post:
        ipython.input_transformers_post.remove(transformer)
    cleanups = ipython.input_transformer_manager.cleanup_transforms
    while cleanup in cleanups:
        cleanups.remove(cleanup)
    if blank_line is not None:
        blank_line.remove()
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
    from .lab_commands import unregister_formatters

    unregister_formatters(ipython)
    magics.close()
