"""Model Markdown, rendered inert: markdown-it-py's `js-default` preset with raw HTML off.

Links are kept only for http(s) and mailto (so `javascript:`, `vbscript:`, `file:` and every
`data:` URL stay text), images are off (no remote loads), headings are shifted down to sit inside
a card, and every element gets inline styles (no `<style>`, no classes a page could hook).
Reference: https://markdown-it-py.readthedocs.io/en/latest/using.html

`markdown_passthrough` is the other direction: the answer kept as Markdown for `text/markdown`
bundles, with raw HTML shown rather than rendered and anything maths-prone fenced.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .escape import clean_text, defang_schemes, esc, math_prone, safe_url
from .html import CODE_STYLE, PRE_STYLE

_LINK_STYLE = "color:var(--jp-content-link-color,#1976d2)"
_STYLES = {
    "paragraph_open": "margin:4px 0",
    "bullet_list_open": "margin:4px 0;padding-left:1.6em",
    "ordered_list_open": "margin:4px 0;padding-left:1.6em",
    "blockquote_open": "margin:4px 0;padding-left:8px;border-left:3px solid "
                       "var(--jp-border-color1,#bbb);opacity:.85",
    "heading_open": "margin:6px 0 2px",
    "hr": "border:0;border-top:1px solid var(--jp-border-color2,#ddd)",
    "table_open": "border-collapse:collapse;margin:4px 0",
    "th_open": "padding:2px 8px;border-bottom:1px solid var(--jp-border-color1,#bbb)",
    "td_open": "padding:2px 8px;border-bottom:1px solid var(--jp-border-color2,#e0e0e0)",
    "code_inline": CODE_STYLE,
}


def _unlink_empty(children: list) -> None:
    """An empty destination (`[a]()`) skips markdown-it's link check: keep only the label."""
    depth_of_dropped: list[int] = []
    depth = 0
    for token in children:
        if token.type == "link_open":
            depth += 1
            if safe_url(token.attrGet("href") or "") is None:
                depth_of_dropped.append(depth)
                token.type, token.tag, token.content, token.attrs = "text", "", "", {}
        elif token.type == "link_close":
            if depth_of_dropped and depth_of_dropped[-1] == depth:
                depth_of_dropped.pop()
                token.type, token.tag, token.content = "text", "", ""
            depth -= 1


def _style_tokens(state: Any) -> None:
    """Core rule: shift headings, style elements, open links in a new tab without a referrer."""
    stack = list(state.tokens)
    while stack:
        token = stack.pop()
        if token.children:
            _unlink_empty(token.children)
            stack.extend(token.children)
        if token.type in ("heading_open", "heading_close"):
            level = min(int(token.tag[1]) + 2, 6)  # answers sit inside a card: keep headings modest
            token.tag = f"h{level}"
        style = _STYLES.get(token.type)
        if style:
            old = token.attrGet("style")  # table cells carry `text-align`
            token.attrSet("style", f"{old};{style}" if old else style)
        if token.type == "link_open":
            token.attrSet("target", "_blank")
            token.attrSet("rel", "noopener noreferrer nofollow")
            token.attrSet("style", _LINK_STYLE)


def _code_block(_renderer: Any, tokens: Any, idx: int, _options: Any, _env: Any) -> str:
    """Fences and indented code: escaped text in a styled <pre>; the info string is dropped."""
    return f'<pre style="{PRE_STYLE}"><code>{esc(tokens[idx].content.rstrip(chr(10)))}</code></pre>'


@lru_cache(maxsize=1)
def _parser() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("js-default", {"html": False, "linkify": False, "typographer": False,
                                   "breaks": True})
    md.disable("image")
    md.validateLink = lambda url: safe_url(url) is not None
    md.core.ruler.push("axonflow_style", _style_tokens)
    md.add_render_rule("fence", _code_block)
    md.add_render_rule("code_block", _code_block)
    return md


def markdown_to_html(text: Any) -> str:
    """Model Markdown as inert HTML: paragraphs, headings, lists, quotes, tables, code, links."""
    return _parser().render(clean_text(text)).strip()


def fenced(text: str) -> str:
    """A Markdown code block no line of `text` can close (fence longer than any backtick run)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{clean_text(text)}\n{fence}"


_OPEN_FENCE = re.compile(r"^(`{3,})[^`]*$|^(~{3,}).*$")
_ANY_FENCE = re.compile(r"^\s*[`~]{3,}")
_INFO_UNSAFE = re.compile(r"[^\w.+#-]")


def markdown_passthrough(text: str) -> str:
    """Model Markdown kept as Markdown for `text/markdown`, with raw HTML shown, not rendered.

    An answer holding `$` or a backslash is fenced whole: a Markdown renderer would otherwise
    hand `$…$` or `\\(…\\)` to MathJax. Otherwise, outside code fences `&`, `<`, `>` are escaped
    and URL schemes defanged. A fence is opened only by a line every CommonMark renderer reads as
    one (column 0, no backtick in the info string) and closed by *any* fence-like line, so text is
    never left raw where a renderer would parse it as Markdown; an unclosed fence is closed so the
    rest of the summary stays outside it.
    """
    text = clean_text(text)
    if math_prone(text):
        return fenced(text)
    out: list[str] = []
    fence = ""
    for line in text.split("\n"):
        if fence:
            if _ANY_FENCE.match(line):
                out.append(fence)
                fence = ""
            else:
                out.append(line)
            continue
        opened = _OPEN_FENCE.match(line)
        if opened:
            fence = opened.group(1) or opened.group(2)
            # The info string is only a language tag: keep tag characters, drop anything a
            # renderer could echo into an attribute.
            out.append(fence + _INFO_UNSAFE.sub("", line[len(fence):]))
            continue
        out.append(defang_schemes(line.replace("&", "&amp;").replace("<", "&lt;")
                                  .replace(">", "&gt;")))
    if fence:
        out.append(fence)
    return "\n".join(out)


__all__ = ["markdown_to_html", "markdown_passthrough", "fenced"]
