"""Markdown and plain-text tables and label/value lists, for `text/markdown` and `text/plain`."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from .escape import md_esc, short


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GFM table; every cell escaped (values holding `$` or `\\` become code spans)."""
    lines = ["| " + " | ".join(md_esc(h, in_table=True) for h in headers) + " |",
             "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(md_esc(c, in_table=True) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def md_rows(rows: Iterable[tuple[str, Any]]) -> str:
    """`- label: value` lines, values escaped."""
    return "\n".join(f"- {md_esc(k)}: {md_esc(v)}" for k, v in rows)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, width: int = 60) -> str:
    """Columns padded to their widest cell, each cell one line of at most `width` characters."""
    table = [[str(h) for h in headers]] + [[short(c, width) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table)


__all__ = ["md_table", "md_rows", "text_table"]
