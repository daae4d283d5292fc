"""A prompt template over a frame's rows: `{column}` fields, nothing else.

Parsed with the standard library's `string.Formatter().parse` (the same grammar as
`str.format`), then checked: a field must be a plain column name. Attribute and index access
(`{a.b}`, `{a[0]}`) could reach into any object a cell holds, conversions (`!r`) call its repr,
and format specs (`{a:>999999999}`) can ask for gigabytes; all are refused, with the field named.
Rendering never calls `str.format`: it joins the literal text and each cell's `str()`.
https://docs.python.org/3/library/string.html#format-string-syntax
"""

from __future__ import annotations

import math
import string
from typing import Any, Iterable, List, Sequence, Tuple


class TemplateError(ValueError):
    """The template cannot be used as it is (the message names the field and what to change)."""


_FORBIDDEN = ".[]!:{}"


class RowTemplate:
    def __init__(self, template: str) -> None:
        if not isinstance(template, str) or not template.strip():
            raise TemplateError("the template is empty: write the prompt, with {column} where a row's value goes")
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as exc:
            raise TemplateError(f"template: {exc} (write {{{{ and }}}} for literal braces)") from None
        pieces: List[Tuple[str, str]] = []
        for literal, field, spec, conversion in parsed:
            if field is None:
                pieces.append((literal, ""))
                continue
            shown = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            if field == "" or field.isdigit():
                raise TemplateError(f"template field {shown}: name a column, e.g. {{text}}")
            if any(char in field for char in _FORBIDDEN):
                raise TemplateError(f"template field {shown}: only plain column names, no attribute or "
                                    "index access")
            if conversion:
                raise TemplateError(f"template field {shown}: no conversions (!r, !s, !a); the value is "
                                    "inserted as text")
            if spec:
                raise TemplateError(f"template field {shown}: no format spec; the value is inserted as text")
            pieces.append((literal, field))
        self.text = template
        self._pieces = tuple(pieces)
        self.fields: Tuple[str, ...] = tuple(dict.fromkeys(field for _, field in pieces if field))
        if not self.fields:
            raise TemplateError("the template names no column: every row would send the same prompt "
                                "(write {column} where a row's value goes)")

    def check(self, columns: Iterable[Any]) -> None:
        """TemplateError naming every field that is not a column of the frame."""
        names = {str(column) for column in columns}
        missing = [field for field in self.fields if field not in names]
        if missing:
            shown = ", ".join("{" + field + "}" for field in missing)
            have = ", ".join(sorted(names)[:20]) or "(none)"
            raise TemplateError(f"template field{'s' if len(missing) > 1 else ''} {shown} "
                                f"{'are' if len(missing) > 1 else 'is'} not a column of the frame; its "
                                f"columns: {have}")

    def render(self, values: Sequence[Any]) -> str:
        """The prompt for one row, given its values of `fields` in order."""
        by_field = dict(zip(self.fields, values))
        return "".join(literal + (_text(by_field[field]) if field else "") for literal, field in self._pieces)

    def render_frame(self, frame: Any) -> List[str]:
        """One prompt per row of a pandas frame, in row order."""
        self.check(frame.columns)
        columns = [next(c for c in frame.columns if str(c) == field) for field in self.fields]
        return [self.render(values) for values in frame[columns].itertuples(index=False, name=None)]


def _text(value: Any) -> str:
    """A cell as prompt text: missing values (None, NaN, NaT, pd.NA) are empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        return value
    try:
        import pandas as pd

        if pd.isna(value) is True:
            return ""
    except (ImportError, TypeError, ValueError):
        pass
    return str(value)


__all__ = ["RowTemplate", "TemplateError"]
