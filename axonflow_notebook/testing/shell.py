"""A real `InteractiveShell` with the extension loaded: the fixture every notebook test uses.

IPython's shell is a process-wide singleton, so the helper unloads whatever an earlier test left,
clears `%config GovernedMagics` state, scrubs the environment of endpoints and LLM keys (answers
are simulated, the local agent governs), and gives the extension a data dir of its own. On exit
it unloads the extension, stops the local agent of that data dir (its runtime file is kept in
the data dir too, never in the user's own runtime directory) and restores the environment.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

from .agents import stop_local_agents
from .widgets import widget_test_comms

SCRUBBED = ("AXONFLOW_", "OPENAI_", "ANTHROPIC_", "AZURE_", "GEMINI_", "MISTRAL_")
QUIET_ENV = {"AXONFLOW_TELEMETRY": "off", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
             # a safety net: a local agent a killed test could not stop exits by itself
             "AXONFLOW_AGENT_IDLE_SECONDS": "1800"}


@contextlib.contextmanager
def patched_environ(env: Mapping[str, str], scrub: Tuple[str, ...] = SCRUBBED) -> Iterator[None]:
    saved = dict(os.environ)
    for key in [k for k in os.environ if k.startswith(scrub)]:
        del os.environ[key]
    os.environ.update(QUIET_ENV)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def magics_of(shell: Any) -> Any:
    return shell.magics_manager.registry["GovernedMagics"]


@contextlib.contextmanager
def governed_shell(data_dir: Any, *, env: Optional[Mapping[str, str]] = None, widgets: bool = True,
                   **settings: Any) -> Iterator[Any]:
    """The shell, `%load_ext axonflow_notebook` done, `GovernedMagics` set from `settings`."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    runtime = {"AXONFLOW_RUNTIME_DIR": str(Path(data_dir) / "agent-runtime")}
    with contextlib.ExitStack() as stack:
        if widgets:
            stack.enter_context(widget_test_comms())
        stack.enter_context(patched_environ({**runtime, **(env or {})}))
        config = Config()
        config.HistoryAccessor.enabled = False
        shell = InteractiveShell.instance(config=config)
        shell.extension_manager.unload_extension("axonflow_notebook")
        shell.config.pop("GovernedMagics", None)  # %config survives reloads; tests start clean
        shell.run_line_magic("load_ext", "axonflow_notebook")
        magics = magics_of(shell)
        magics.data_dir = str(data_dir)
        for name, value in settings.items():
            setattr(magics, name, value)
        try:
            yield shell
        finally:
            shell.run_line_magic("unload_ext", "axonflow_notebook")
            shell.config.pop("GovernedMagics", None)
            stop_local_agents(data_dir)


@contextlib.contextmanager
def published(shell: Any) -> Iterator[List[Tuple[Dict[str, Any], Dict[str, Any], bool]]]:
    """Every (data, metadata, is_update) bundle the shell displays while inside."""
    sent: list = []
    original = shell.display_pub.publish

    def publish(data: Any, metadata: Any = None, *args: Any, **kwargs: Any) -> Any:
        sent.append((data, metadata or {}, kwargs.get("update", False)))
        return original(data, metadata, *args, **kwargs)

    shell.display_pub.publish = publish
    try:
        yield sent
    finally:
        shell.display_pub.publish = original


def bundle_text(bundles: Any) -> str:
    return "\n".join(str(v) for data, meta, _ in bundles for v in list(data.values()) + [meta])
