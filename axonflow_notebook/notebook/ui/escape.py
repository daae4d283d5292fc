"""Escaping: every string that came from outside (prompts, answers, reasons, policy names and
patterns, comments, reviewer names) passes through here before it reaches HTML or Markdown.

HTML is escaped first and only then given our own markup, so model output can never become a tag,
an attribute or a `javascript:` link. Nothing we render may be typeset as maths either: HTML roots
carry `NO_MATH` (the classes MathJax 3 in JupyterLab 4 and MathJax 2 in nbconvert and nbviewer
skip), and Markdown puts any value holding `$` or `\\` in a code span, which no renderer typesets
(JupyterLab's Markdown renderer hands every other `$…$` or `\\(…\\)` to MathJax: see
`removeMath` in @jupyterlab/rendermime's latex.ts, https://github.com/jupyterlab/jupyterlab).
"""

from __future__ import annotations

import html
import re
from typing import Any, Optional

# MathJax 3's default `ignoreHtmlClass` (JupyterLab 4.6 keeps it) and MathJax 2's `ignoreClass`
# (nbconvert's and nbviewer's templates): https://docs.mathjax.org/en/latest/options/document.html
NO_MATH = "mathjax_ignore tex2jax_ignore"

_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SCHEME = re.compile(r"(?i)(javascript|vbscript|(?<![a-z])data|(?<![a-z])file)(\s*):")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#<>!~])")
_MATH_PRONE = re.compile(r"[$\\]")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")


def clean_text(value: Any) -> str:
    """Text safe to show: bidi overrides made visible (no spoofed reading order), controls dropped."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return _BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


def esc(value: Any) -> str:
    """HTML-escape anything (quotes too, so it is also safe inside an attribute)."""
    return html.escape(clean_text(value), quote=True)


def defang_schemes(text: str) -> str:
    """`javascript:` and friends stop being URL schemes (a zero-width space), yet stay readable."""
    return _SCHEME.sub("\\1\u200b\\2:", text)


def short(value: Any, limit: int = 160) -> str:
    """One line, at most `limit` characters (an ellipsis marks a cut)."""
    text = " ".join(clean_text(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_url(url: str) -> Optional[str]:
    """The URL if its scheme is http(s)/mailto once browser-ignored whitespace is removed."""
    squashed = re.sub(r"[\s\x00-\x1f]", "", html.unescape(url)).lower()
    return url if squashed.startswith(_SAFE_SCHEMES) else None


def md_code(value: Any, *, in_table: bool = False) -> str:
    """A Markdown code span no character of `value` can close or escape (shown literally)."""
    text = " ".join(clean_text(value).split("\n"))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if in_table:  # GFM reads `|` as a cell border even inside a code span unless escaped
        text = text.replace("|", "\\|")
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_esc(value: Any, *, in_table: bool = False) -> str:
    """Escape text for a Markdown table cell or inline run: HTML, Markdown syntax and maths inert.

    Values holding `$` or a backslash become a code span (shown verbatim everywhere, never
    typeset); anything else is HTML-escaped with Markdown's own syntax characters backslashed.
    """
    text = clean_text(value).replace("\n", " ")
    if _MATH_PRONE.search(text):
        return md_code(text, in_table=in_table)
    text = html.escape(text, quote=False)
    return defang_schemes(_MD_SPECIAL.sub(r"\\\1", text))


def math_prone(text: str) -> bool:
    """True when Markdown `text` holds a `$` or backslash a renderer could read as maths."""
    return bool(_MATH_PRONE.search(text))


__all__ = ["NO_MATH", "clean_text", "esc", "defang_schemes", "short", "safe_url", "md_code",
           "md_esc", "math_prone"]
