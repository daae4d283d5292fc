"""A governed batch over a pandas frame: prompts from the template, answers as new columns."""

from __future__ import annotations

import keyword
from typing import Any, Dict, List, Optional

from ..core.batch.result import BatchResult
from .template import RowTemplate, TemplateError

SUFFIXES = ("status", "policies", "audit_id", "cost", "error")
# An answered row that AxonFlow never checked says so in its error column (its status is `allowed`).
UNGOVERNED = "ungoverned: AxonFlow did not answer and fail_open let the row run"


def output_columns(into: str) -> List[str]:
    return [into] + [f"{into}_{suffix}" for suffix in SUFFIXES]


def check_into(frame_columns: Any, into: Any) -> str:
    """The answer column's name; ValueError if it is not a name or would overwrite a column."""
    if not isinstance(into, str) or not into.strip() or keyword.iskeyword(into):
        raise ValueError(f"into= needs a column name, got {into!r}")
    taken = [name for name in output_columns(into) if name in {str(c) for c in frame_columns}]
    if taken:
        raise ValueError(f"the frame already has column{'s' if len(taken) > 1 else ''} "
                         f"{', '.join(taken)}; choose another into=")
    return into


def text_dtype() -> str:
    """pandas' own text dtype: `str` from pandas 3 (missing values NaN), `object` before it."""
    import pandas as pd

    return "str" if int(pd.__version__.split(".")[0]) >= 3 else "object"


def column_dtypes(into: str) -> Dict[str, str]:
    text = text_dtype()
    return {into: text, f"{into}_status": text, f"{into}_policies": "object", f"{into}_audit_id": text,
            f"{into}_cost": "float64", f"{into}_error": text}


def result_columns(result: BatchResult, into: str) -> Dict[str, List[Any]]:
    """The new columns, one value per row in input order."""
    rows = result.rows
    return {
        into: [row.text for row in rows],
        f"{into}_status": [row.status for row in rows],
        f"{into}_policies": [list(row.policies) for row in rows],
        f"{into}_audit_id": [row.audit_id for row in rows],
        f"{into}_cost": [float("nan") if row.cost is None else row.cost for row in rows],
        f"{into}_error": [_error_text(row.error) or (UNGOVERNED if row.ungoverned else None) for row in rows],
    }


def with_result(frame: Any, result: Optional[BatchResult], into: str) -> Any:
    """A new frame: `frame`'s columns and index, plus the answer columns (the input is unchanged).

    With no result (an empty frame, or Dask's meta) the columns are empty, of the same dtypes.
    """
    import pandas as pd

    values = result_columns(result, into) if result is not None else {name: [] for name in output_columns(into)}
    return frame.assign(**{name: pd.Series(values[name], index=frame.index, dtype=dtype)
                           for name, dtype in column_dtypes(into).items()})


def prepare(frame: Any, template: str, into: str) -> List[str]:
    """Every check that can fail before a call (template, columns, into), then the prompts."""
    parsed = RowTemplate(template)
    parsed.check(frame.columns)
    check_into(frame.columns, into)
    return parsed.render_frame(frame)


def _error_text(error: Optional[BaseException]) -> Optional[str]:
    if error is None:
        return None
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


__all__ = ["column_dtypes", "text_dtype", "output_columns", "check_into", "result_columns", "with_result", "prepare", "TemplateError",
           "SUFFIXES"]
