"""The logger a frame accessor (`df.governed`) uses when none is passed.

A notebook points it at its own AxonFlow (`%load_ext axonflow_notebook`); a script gets one
built from the environment (`AxonFlowLoggerConfig.from_env()`: AXONFLOW_ENDPOINT and friends).
Tiny on purpose: the extension sets it at load time without importing pandas or the core.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from .logger import AxonFlowLogger

_lock = threading.Lock()
_source: Optional[Callable[[], "AxonFlowLogger"]] = None
_from_env: Optional["AxonFlowLogger"] = None


def set_default_logger_source(source: Optional[Callable[[], "AxonFlowLogger"]]) -> Optional[Callable[[], Any]]:
    """Use `source()` as the default logger from now on (None: the environment's); returns the old one."""
    global _source
    with _lock:
        old, _source = _source, source
    return old


def default_logger() -> "AxonFlowLogger":
    """The logger to use when a caller passed none; ValueError saying how to configure one."""
    global _from_env
    source = _source
    if source is not None:
        return source()
    with _lock:
        if _from_env is None:
            from .config import AxonFlowLoggerConfig
            from .logger import AxonFlowLogger

            try:
                config = AxonFlowLoggerConfig.from_env()
            except ValueError as exc:
                raise ValueError(f"no AxonFlow to govern with: pass logger=AxonFlowLogger(config), or set "
                                 f"AXONFLOW_ENDPOINT and AXONFLOW_CLIENT_ID ({exc})") from None
            _from_env = AxonFlowLogger(config)
        return _from_env


__all__ = ["set_default_logger_source", "default_logger"]
