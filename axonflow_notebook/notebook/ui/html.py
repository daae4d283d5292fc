"""HTML building blocks: badges, cards, label/value rows and data tables.

Styles are inline (no `<style>`, no JS) so the same markup survives nbviewer, GitHub and the
sanitizer of an untrusted notebook, and they use JupyterLab's CSS variables with fallbacks so the
cards read well in light and dark themes. Every function takes values that are already safe HTML
(escaped with `escape.esc`) unless it says otherwise.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

from .escape import NO_MATH, esc

TONES = {
    "ok": "#2e7d32",
    "warn": "#b26a00",
    "bad": "#c62828",
    "info": "#1565c0",
    "mute": "#757575",
    "redact": "#6a1b9a",
}
FG = "var(--jp-ui-font-color1,#1f1f1f)"
FG2 = "var(--jp-ui-font-color2,#616161)"
FONT = "font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:var(--jp-ui-font-size1,13px)"
MONO = "font-family:var(--jp-code-font-family,monospace);font-size:0.92em"
CODE_STYLE = (
    f"{MONO};background:var(--jp-layout-color2,rgba(127,127,127,.12));border-radius:3px;"
    "padding:0 3px"
)
PRE_STYLE = (
    "font-family:var(--jp-code-font-family,monospace);font-size:0.9em;white-space:pre-wrap;"
    "word-break:break-word;background:var(--jp-layout-color2,rgba(127,127,127,.10));"
    "border-radius:4px;padding:6px 8px;margin:4px 0"
)
MAX_WIDTH = "900px"


def badge(text: str, tone: str = "mute") -> str:
    """A small rounded label; `text` is escaped here."""
    color = TONES.get(tone, TONES["mute"])
    return (f'<span style="display:inline-block;border:1px solid {color};color:{color};'
            f'border-radius:9px;padding:0 7px;margin-left:6px;font-size:0.85em;font-weight:600;'
            f'line-height:1.5;white-space:nowrap;background:color-mix(in srgb,{color} 12%,transparent)">'
            f"{esc(text)}</span>")


def card(kind: str, title: str, body: str, *, tone: str = "mute", badges: Sequence[str] = (),
         tagged: bool = True) -> str:
    """One card: coloured left edge, a title line with badges, then `body` (already safe HTML).

    `tagged` adds the `axonflow-<kind>` class browser tests look for; a live card leaves it off
    where the live element itself carries that class (one match per card, not two).
    """
    color = TONES.get(tone, TONES["mute"])
    cls = f"axonflow-card axonflow-{kind} {NO_MATH}" if tagged else f"axonflow-card {NO_MATH}"
    return (
        f'<div class="{cls}" style="{FONT};color:{FG};border:1px solid '
        f'var(--jp-border-color2,#e0e0e0);border-left:4px solid {color};border-radius:4px;'
        f'padding:6px 10px;margin:3px 0;line-height:1.45;max-width:{MAX_WIDTH};'
        f'box-sizing:border-box;overflow-wrap:anywhere;background:var(--jp-layout-color1,transparent)">'
        f'<div style="font-weight:600;color:{color}">{esc(title)}{"".join(badges)}</div>'
        f"{body}</div>"
    )


def kv_table(rows: Iterable[tuple[str, str]]) -> str:
    """Label/value rows; labels are escaped here, values must already be safe HTML."""
    cells = "".join(
        f'<tr style="background:transparent"><td style="color:{FG2};padding:1px 12px 1px 0;'
        f'vertical-align:top;white-space:nowrap;border:0;text-align:left">{esc(k)}</td>'
        f'<td style="padding:1px 0;border:0;text-align:left;word-break:break-word">{v}</td></tr>'
        for k, v in rows
    )
    return (f'<table style="{FONT};color:{FG};border-collapse:collapse;margin:2px 0;border:0">'
            f"{cells}</table>")


def data_table(headers: Sequence[str], rows: Iterable[Sequence[str]], *,
               widths: Optional[Sequence[str]] = None) -> str:
    """A table that fits its card: cells wrap, fixed column widths when `widths` is given.

    Headers are escaped here; cells must already be safe HTML.
    """
    layout = "table-layout:fixed;width:100%;" if widths else ""
    cols = "".join(f'<col style="width:{w}">' for w in widths) if widths else ""
    th = "".join(
        f'<th style="text-align:left;padding:3px 6px;white-space:nowrap;overflow:hidden;'
        f'text-overflow:ellipsis;border-bottom:1px solid var(--jp-border-color1,#bbb)">{esc(h)}</th>'
        for h in headers
    )
    body = "".join(
        "<tr>" + "".join(
            f'<td style="text-align:left;vertical-align:top;padding:3px 6px;border-bottom:1px '
            f'solid var(--jp-border-color2,#e0e0e0);overflow-wrap:anywhere">{c}</td>' for c in row
        ) + "</tr>"
        for row in rows
    )
    colgroup = f"<colgroup>{cols}</colgroup>" if cols else ""
    return (f'<table style="{FONT};color:{FG};border-collapse:collapse;margin:4px 0;{layout}">'
            f"{colgroup}<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>")


def mono(text: str) -> str:
    """Escaped `text` in the code font (ids, patterns)."""
    return f'<span style="{MONO}">{esc(text)}</span>'


def note(text: str) -> str:
    """A muted one-line note; `text` is escaped here."""
    return f'<div style="color:{FG2};font-size:0.92em;margin:2px 0">{esc(text)}</div>'


__all__ = ["TONES", "FG", "FG2", "FONT", "MONO", "CODE_STYLE", "PRE_STYLE", "MAX_WIDTH", "badge",
           "card", "kv_table", "data_table", "mono", "note"]
