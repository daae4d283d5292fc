"""`ddf.governed.complete(...)` on a Dask frame: each partition governed on the worker that holds it.

Every worker governs its partition's rows as a batch of its own (`AxonFlowLogger.map`, one
logger per worker process) against the same AxonFlow. What travels in the task graph is the
template, the LiteLLM keywords and the logger's settings *without credentials*: the AxonFlow
client secret and default user token, and the provider's API key, reach a worker through its
own environment (AXONFLOW_CLIENT_SECRET, AXONFLOW_DEFAULT_USER_TOKEN, OPENAI_API_KEY, … set on
the workers, e.g. `LocalCluster(env=...)`), and keywords that would carry one are refused.
https://docs.dask.org/en/stable/dataframe-extend.html
"""

from __future__ import annotations

import json
import threading
from typing import Any, Dict, Optional

import dask.dataframe as dd
import pandas as pd

from ..core.config import AxonFlowLoggerConfig
from ..core.default_logger import default_logger
from .frame import check_into, prepare, with_result
from .template import RowTemplate

# Settings a worker must get from its own environment, never from the graph.
CREDENTIAL_FIELDS = ("client_secret", "default_user_token")
# Keywords a cluster batch refuses: credentials (the workers' environment has them) and what
# only one process can keep (a client-side budget, a listener).
REFUSED = {
    "api_key": "set the provider's key (e.g. OPENAI_API_KEY) in the workers' environment",
    "user_token": "set AXONFLOW_DEFAULT_USER_TOKEN in the workers' environment",
    "budget_usd": "a client-side budget needs one process; use an AxonFlow budget for a cluster",
    "limits": "spending limits need one process; use an AxonFlow budget for a cluster",
    "on_event": "events stay on the workers; the result frame says how each row went",
}


def worker_settings(config: AxonFlowLoggerConfig) -> Dict[str, Any]:
    """The logger's settings a worker rebuilds its logger from: everything but credentials."""
    return config.model_dump(mode="json", exclude=set(CREDENTIAL_FIELDS))


_loggers: Dict[str, Any] = {}
_loggers_lock = threading.Lock()


def worker_logger(settings: Dict[str, Any]) -> Any:
    """This process's logger for `settings` (credentials from its environment), built once."""
    from ..core.logger import AxonFlowLogger

    key = json.dumps(settings, sort_keys=True)
    with _loggers_lock:
        logger = _loggers.get(key)
        if logger is None:
            logger = _loggers[key] = AxonFlowLogger(AxonFlowLoggerConfig.from_env(**settings))
        return logger


def govern_partition(part: pd.DataFrame, template: str, into: str, model: str, concurrency: int,
                     settings: Dict[str, Any], options: Dict[str, Any]) -> pd.DataFrame:
    """One partition, on a worker: its rows governed as one batch, the answer columns added."""
    prompts = prepare(part, template, into)
    if not prompts:
        return with_result(part, None, into)
    result = worker_logger(settings).map(prompts, model=model, concurrency=concurrency, **options)
    return with_result(part, result, into)


class DaskGovernedAccessor:
    def __init__(self, frame: dd.DataFrame) -> None:
        self._frame = frame

    def complete(self, template: str, *, model: str, into: str = "answer", logger: Optional[Any] = None,
                 concurrency: int = 8, **options: Any) -> dd.DataFrame:
        """A lazy Dask frame: the partitions are governed when it is computed."""
        RowTemplate(template).check(self._frame.columns)  # every check before anything runs
        check_into(self._frame.columns, into)
        for name, why in REFUSED.items():
            if name in options:
                raise ValueError(f"{name}= is not taken on a Dask frame: {why}")
        settings = worker_settings((logger or default_logger()).config)
        meta = with_result(self._frame._meta, None, into)
        return self._frame.map_partitions(govern_partition, template, into, model, concurrency, settings,
                                          dict(options), meta=meta)


_registered = False


def register() -> None:
    """Register `ddf.governed` with Dask (once)."""
    global _registered
    if not _registered:
        dd.extensions.register_dataframe_accessor("governed")(DaskGovernedAccessor)
        _registered = True


__all__ = ["DaskGovernedAccessor", "govern_partition", "worker_settings", "register", "CREDENTIAL_FIELDS"]
