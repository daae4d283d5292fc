"""Why a batch row did not run, and the interrupt that carries a partial batch."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .result import BatchResult


class RowSkipped(Exception):
    """The row was never sent: a spending limit stopped the batch before it (`skipped_budget`)."""


class RowCancelled(Exception):
    """The batch was cancelled (or interrupted) before the row finished (`cancelled`)."""


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during `logger.map(...)`: the rows that finished are in `.result`."""

    def __init__(self, result: "BatchResult") -> None:
        super().__init__(f"batch interrupted: {result.summary_line()}")
        self.result = result


__all__ = ["RowSkipped", "RowCancelled", "BatchInterrupted"]
