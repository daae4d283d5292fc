"""`df.governed`: a pandas accessor that governs one LLM call per row.

    df.governed.complete("Classify this ticket as bug, question or praise: {text}",
                         model="gpt-4o-mini", into="label")

returns a new frame with `label` and `label_status`, `label_policies`, `label_audit_id`,
`label_cost`, `label_error`. Each row goes through `AxonFlowLogger.amap` (pre-check, approval,
LLM, audit, like one governed call); every other keyword is `amap`'s (concurrency, rpm, tpm,
budget_usd, on_event, user_token, LiteLLM keywords). Registered with pandas' extension API:
https://pandas.pydata.org/docs/development/extending.html#registering-custom-accessors
"""

from __future__ import annotations

from typing import Any, List, Optional

import pandas as pd

from ..core.default_logger import default_logger
from .frame import prepare, with_result


class GovernedAccessor:
    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def prompts(self, template: str) -> List[str]:
        """The prompt each row would send (nothing is sent)."""
        from .template import RowTemplate

        return RowTemplate(template).render_frame(self._frame)

    def complete(self, template: str, *, model: str, into: str = "answer", logger: Optional[Any] = None,
                 concurrency: int = 8, **options: Any) -> pd.DataFrame:
        """Govern one call per row; a new frame with the answers and how each row was governed."""
        prompts = prepare(self._frame, template, into)
        result = (logger or default_logger()).map(prompts, model=model, concurrency=concurrency, **options)
        return with_result(self._frame, result, into)

    async def acomplete(self, template: str, *, model: str, into: str = "answer", logger: Optional[Any] = None,
                        concurrency: int = 8, **options: Any) -> pd.DataFrame:
        """`complete` for async code (a notebook cell can `await` it)."""
        prompts = prepare(self._frame, template, into)
        result = await (logger or default_logger()).amap(prompts, model=model, concurrency=concurrency, **options)
        return with_result(self._frame, result, into)


_registered = False


def register() -> None:
    """Register `df.governed` with pandas (once)."""
    global _registered
    if not _registered:
        pd.api.extensions.register_dataframe_accessor("governed")(GovernedAccessor)
        _registered = True


__all__ = ["GovernedAccessor", "register"]
