"""Static HTML / Markdown / text building blocks shared by the live widgets and saved outputs.

Everything that reaches HTML from outside (prompts, answers, reasons, policy names, comments,
reviewer names) goes through `esc` or `markdown_to_html`, which escape *first* and only then add
our own markup, so model output can never become a tag, an attribute or a `javascript:` link.
Styles are inline (no `<style>`, no JS) so the same markup survives nbviewer, GitHub and the
sanitizer of an untrusted notebook, and they use JupyterLab's CSS variables with fallbacks so the
cards read well in light and dark themes.
"""

from __future__ import annotations

import datetime as _dt
import html
import re
from typing import Any, Iterable, Mapping, Optional, Sequence

# -- escaping ---------------------------------------------------------------------------------
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: Any) -> str:
    """Text safe to show: bidi overrides made visible (no spoofed reading order), controls dropped."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return _BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


def esc(value: Any) -> str:
    """HTML-escape anything (quotes too, so it is also safe inside an attribute)."""
    return html.escape(clean_text(value), quote=True)


_SCHEME = re.compile(r"(?i)(javascript|vbscript|(?<![a-z])data)(\s*):")


def defang_schemes(text: str) -> str:
    """`javascript:` and friends stop being URL schemes (a zero-width space), yet stay readable."""
    return _SCHEME.sub("\\1\u200b\\2:", text)


def md_esc(value: Any) -> str:
    """Escape text for a Markdown table cell or inline run: HTML and Markdown syntax made inert."""
    text = html.escape(clean_text(value), quote=False).replace("\n", " ")
    return defang_schemes(re.sub(r"([\\`*_\[\]|#<>!])", r"\\\1", text))


def short(value: Any, limit: int = 160) -> str:
    text = " ".join(clean_text(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SAFE_SCHEMES = ("http://", "https://", "mailto:")


def safe_url(url: str) -> Optional[str]:
    """The URL if its scheme is http(s)/mailto once browser-ignored whitespace is removed."""
    squashed = re.sub(r"[\s\x00-\x1f]", "", html.unescape(url)).lower()
    return url if squashed.startswith(_SAFE_SCHEMES) else None


# -- markdown (escape first, then a small, closed set of constructs) ---------------------------
_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_HR = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_UL = re.compile(r"^\s*[-*+]\s+(.*)$")
_OL = re.compile(r"^\s*\d{1,9}[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s*>\s?(.*)$")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^()\s]+)\)")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?=\S)(.+?)(?<=\S)\*(?![*\w])")

CODE_STYLE = (
    "font-family:var(--jp-code-font-family,monospace);font-size:0.92em;"
    "background:var(--jp-layout-color2,rgba(127,127,127,.12));border-radius:3px;padding:0 3px"
)
PRE_STYLE = (
    "font-family:var(--jp-code-font-family,monospace);font-size:0.9em;white-space:pre-wrap;"
    "word-break:break-word;background:var(--jp-layout-color2,rgba(127,127,127,.10));"
    "border-radius:4px;padding:6px 8px;margin:4px 0"
)


def _link(match: "re.Match[str]") -> str:
    label, url = match.group(1), match.group(2)
    if safe_url(url) is None:
        return f"{label} ({url})"
    return (f'<a href="{url}" target="_blank" rel="noopener noreferrer nofollow" '
            f'style="color:var(--jp-content-link-color,#1976d2)">{label}</a>')


def _inline_plain(raw: str) -> str:
    out = esc(raw)
    out = _LINK.sub(_link, out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    return _ITALIC.sub(r"<em>\1</em>", out)


def inline_markdown(raw: str) -> str:
    """Code spans, links, bold and italic in one line; every other character is escaped."""
    parts, last = [], 0
    for m in _CODE_SPAN.finditer(raw):
        parts.append(_inline_plain(raw[last : m.start()]))
        parts.append(f'<code style="{CODE_STYLE}">{esc(m.group(1))}</code>')
        last = m.end()
    parts.append(_inline_plain(raw[last:]))
    return "".join(parts)


def markdown_to_html(text: Any) -> str:
    """Model Markdown as inert HTML: paragraphs, headings, lists, quotes, code, links."""
    lines = clean_text(text).split("\n")
    out: list[str] = []
    para: list[str] = []
    items: list[str] = []
    list_tag = ""
    quote: list[str] = []

    def flush() -> None:
        nonlocal list_tag
        if para:
            out.append("<p style=\"margin:4px 0\">" + "<br>".join(para) + "</p>")
            para.clear()
        if items:
            out.append(f"<{list_tag} style=\"margin:4px 0;padding-left:1.6em\">"
                       + "".join(f"<li>{i}</li>" for i in items) + f"</{list_tag}>")
            items.clear()
            list_tag = ""
        if quote:
            out.append("<blockquote style=\"margin:4px 0;padding-left:8px;border-left:3px solid "
                       "var(--jp-border-color1,#bbb);opacity:.85\">" + "<br>".join(quote)
                       + "</blockquote>")
            quote.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush()
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence.group(1)):
                body.append(lines[i])
                i += 1
            out.append(f'<pre style="{PRE_STYLE}"><code>{esc(chr(10).join(body))}</code></pre>')
            i += 1
            continue
        if not line.strip():
            flush()
        elif _HR.match(line):
            flush()
            out.append('<hr style="border:0;border-top:1px solid var(--jp-border-color2,#ddd)">')
        elif (h := _HEADING.match(line)):
            flush()
            level = min(len(h.group(1)) + 2, 6)  # answers sit inside a card: keep headings modest
            out.append(f'<h{level} style="margin:6px 0 2px">{inline_markdown(h.group(2))}</h{level}>')
        elif (m := _UL.match(line)) or (m := _OL.match(line)):
            tag = "ul" if _UL.match(line) else "ol"
            if para or quote or (items and tag != list_tag):
                flush()
            list_tag = tag
            items.append(inline_markdown(m.group(1)))
        elif (q := _QUOTE.match(line)):
            if para or items:
                flush()
            quote.append(inline_markdown(q.group(1)))
        else:
            if items or quote:
                flush()
            para.append(inline_markdown(line))
        i += 1
    flush()
    return "".join(out)


# -- formatting -------------------------------------------------------------------------------
def fmt_seconds(seconds: Optional[float]) -> str:
    if seconds is None:
        return "—"
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {(s % 3600) // 60:02d}m"


def fmt_ms(ms: Optional[float]) -> str:
    if ms is None:
        return "—"
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def fmt_time(value: Any) -> str:
    """Epoch seconds or an ISO string as `YYYY-MM-DD HH:MM:SS UTC`; anything else as given."""
    if value is None or value == "":
        return "—"
    if isinstance(value, (int, float)):
        return _dt.datetime.fromtimestamp(value, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, _dt.datetime):
        value = value.isoformat()
    try:
        parsed = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(_dt.timezone.utc)
    return parsed.strftime("%Y-%m-%d %H:%M:%S UTC")


def parse_time(value: Any) -> Optional[float]:
    """Epoch seconds from an epoch number or ISO string (naive = UTC); None when unknown."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, _dt.datetime):
        value = value.isoformat()
    if not value:
        return None
    try:
        parsed = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.timezone.utc)
    return parsed.timestamp()


def fmt_cost(cost: Optional[float]) -> str:
    if cost is None:
        return "—"
    return f"${cost:.6f}" if cost < 0.01 else f"${cost:.4f}"


# -- cards ------------------------------------------------------------------------------------
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


def badge(text: str, tone: str = "mute") -> str:
    color = TONES.get(tone, TONES["mute"])
    return (f'<span style="display:inline-block;border:1px solid {color};color:{color};'
            f'border-radius:9px;padding:0 7px;margin-left:6px;font-size:0.85em;font-weight:600;'
            f'line-height:1.5;background:color-mix(in srgb,{color} 12%,transparent)">{esc(text)}</span>')


def card(kind: str, title: str, body: str, *, tone: str = "mute", badges: Sequence[str] = (),
         tagged: bool = True) -> str:
    """One card: coloured left edge, a title line with badges, then `body` (already safe HTML).

    `tagged` adds the `axonflow-<kind>` class browser tests look for; a live widget leaves it off
    because the widget element itself carries that class (one match per card, not two).
    """
    color = TONES.get(tone, TONES["mute"])
    cls = f"axonflow-card axonflow-{kind}" if tagged else "axonflow-card"
    return (
        f'<div class="{cls}" style="{FONT};color:{FG};border:1px solid '
        f'var(--jp-border-color2,#e0e0e0);border-left:4px solid {color};border-radius:4px;'
        f'padding:6px 10px;margin:3px 0;line-height:1.45;'
        f'background:var(--jp-layout-color1,transparent)">'
        f'<div style="font-weight:600;color:{color}">{esc(title)}{"".join(badges)}</div>'
        f"{body}</div>"
    )


def kv_table(rows: Iterable[tuple[str, str]]) -> str:
    """Label/value rows; values must already be safe HTML (use `esc`)."""
    cells = "".join(
        f'<tr style="background:transparent"><td style="color:{FG2};padding:1px 12px 1px 0;vertical-align:top;white-space:nowrap;'
        f'border:0;text-align:left">{esc(k)}</td><td style="padding:1px 0;border:0;text-align:left;'
        f'word-break:break-word">{v}</td></tr>'
        for k, v in rows
    )
    return (f'<table style="{FONT};color:{FG};border-collapse:collapse;margin:2px 0;border:0">'
            f"{cells}</table>")


def data_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A plain table; cells must already be safe HTML."""
    th = "".join(
        f'<th style="text-align:left;padding:3px 8px;border-bottom:1px solid '
        f'var(--jp-border-color1,#bbb)">{esc(h)}</th>' for h in headers
    )
    body = "".join(
        "<tr>" + "".join(
            f'<td style="text-align:left;vertical-align:top;padding:3px 8px;border-bottom:1px '
            f'solid var(--jp-border-color2,#e0e0e0)">{c}</td>' for c in row
        ) + "</tr>"
        for row in rows
    )
    return (f'<table style="{FONT};color:{FG};border-collapse:collapse;margin:4px 0">'
            f"<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>")


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(md_esc(h) for h in headers) + " |",
             "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(md_esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    table = [[str(h) for h in headers]] + [[short(c, 60) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table)


# -- rich objects -----------------------------------------------------------------------------
class Rich:
    """A static output: `text/html`, `text/markdown` and `text/plain`, plus output metadata."""

    def __init__(self, html_: str, markdown: str, plain: str,
                 metadata: Optional[Mapping[str, Any]] = None) -> None:
        self.html = html_
        self.markdown = markdown
        self.plain = plain
        self.metadata = dict(metadata or {})

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None):
        data = {"text/html": self.html, "text/markdown": self.markdown, "text/plain": self.plain}
        if include:
            data = {k: v for k, v in data.items() if k in include}
        if exclude:
            data = {k: v for k, v in data.items() if k not in exclude}
        return data, self.metadata

    def __repr__(self) -> str:
        return self.plain


_SECRET_KEY = re.compile(r"secret|token|password|passwd|api[_-]?key|license|credential|auth",
                         re.I)


def mask(key: str, value: Any) -> Any:
    """Secrets never shown: any value under a secret-looking key becomes `••••` (or `—`)."""
    if _SECRET_KEY.search(str(key)) and not isinstance(value, bool):
        return "••••" if value not in (None, "") else "—"
    return value


def _flatten(status: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in status.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and not _SECRET_KEY.search(str(key)):
            rows += _flatten(value, f"{name}.")
        else:
            rows.append((name, mask(str(key), value)))
    return rows


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def status_table(status: Mapping[str, Any]) -> Rich:
    """`%axonflow status`: backend, health, breaker and effective config, secrets masked."""
    rows = [(k, _show(v)) for k, v in _flatten(status)]
    healthy = str(status.get("health", status.get("healthy", ""))).lower()
    tone = "ok" if healthy in ("ok", "true", "healthy") else ("bad" if healthy else "info")
    body = kv_table((k, esc(v)) for k, v in rows)
    page = card("status", "AxonFlow status", body, tone=tone)
    return Rich(page, "**AxonFlow status**\n\n" + md_table(["setting", "value"], rows),
                "AxonFlow status\n" + text_table(["setting", "value"], rows))


_POLICY_COLUMNS = ("id", "name", "type", "category", "action", "severity", "enabled", "pattern",
                   "description")


def policies_table(policies: Sequence[Mapping[str, Any]]) -> Rich:
    """`%axonflow policies`: the effective policy table (the common columns, in a fixed order)."""
    present = [c for c in _POLICY_COLUMNS if any(c in p for p in policies)]
    columns = present or sorted({k for p in policies for k in p})[:6]
    rows = [[_show(mask(c, p.get(c))) for c in columns] for p in policies]
    title = f"{len(policies)} polic{'y' if len(policies) == 1 else 'ies'}"
    body = data_table(columns, ([esc(c) for c in r] for r in rows)) if rows else \
        f'<div style="color:{FG2}">No policies.</div>'
    page = card("policies", f"AxonFlow policies — {title}", body, tone="info")
    return Rich(page, f"**AxonFlow policies — {title}**\n\n" + md_table(columns, rows),
                f"AxonFlow policies — {title}\n" + text_table(columns, rows))
