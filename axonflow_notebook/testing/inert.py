"""Assertions that rendered output is inert: no markup from the input, no maths typesetting.

Shared by the renderer's unit tests (tests/notebook) and the end-to-end hostile tests
(tests/hostile), so every path from a prompt, an answer, a policy or a comment to the screen is
held to the same rule: the output may contain only our own tags and attributes, no event
handler, no `javascript:` link, no `<` that came from the input, and nothing a MathJax pass
would typeset.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

OUR_TAGS = {"div", "span", "p", "br", "ul", "ol", "li", "h3", "h4", "h5", "h6", "pre", "code",
            "blockquote", "hr", "a", "strong", "em", "s", "table", "thead", "tbody", "tr", "td",
            "th", "colgroup", "col", "details", "summary", "svg", "rect", "text", "g", "title"}
OUR_ATTRS = {"class", "style", "href", "target", "rel", "open", "width", "height", "x", "y",
             "viewbox", "xmlns", "fill", "role", "aria-label", "font-size", "text-anchor",
             "colspan", "title", "start"}
OUR_TAG_RE = re.compile(r"</?(?:%s)(?:\s+[a-z-]+(?:=\"[^\"<>]*\")?)*\s*/?>" % "|".join(OUR_TAGS),
                        re.I)
NO_MATH_CLASS = "mathjax_ignore"

_FENCE = re.compile(r"^(`{3,}|~{3,})[^`\n]*\n.*?\n\1$", re.M | re.S)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def assert_inert(html: str) -> None:
    """Only our own tags and attributes; no handler, no script, no foreign `<`."""
    assert "<script" not in html.lower()
    for tag in re.findall(r"<[a-zA-Z][^>]*>", html):  # quoted values are data, not attributes
        assert not re.search(r"\son\w+\s*=", re.sub(r'"[^"]*"', '""', tag)), tag
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag in OUR_TAGS, (tag, html)
        for name, value in attrs:
            assert name in OUR_ATTRS and not name.startswith("on"), (tag, name, html)
            if name == "href":
                assert re.match(r"(https?:|mailto:)", value or ""), value
            if name == "style":
                assert "javascript" not in value.lower() and "url(" not in value.lower()
            if name == "class":  # a class MathJax would obey to typeset inside an ignored root
                assert "mathjax_process" not in (value or "") and "tex2jax_process" not in (value or "")
    # Every `<` left is the start of one of our own tags.
    assert "<" not in OUR_TAG_RE.sub("", html), OUR_TAG_RE.sub("", html)


def outside_code(md: str) -> str:
    """Markdown with fenced blocks and code spans removed: what a renderer parses as Markdown.

    A code span (CommonMark) opens at a backtick run that is not backslash-escaped and closes at
    the next run of exactly the same length; inside it backslashes escape nothing.
    """
    md = _FENCE.sub("", md)
    out, i, n = [], 0, len(md)
    while i < n:
        if md[i] == "\\" and i + 1 < n:
            out.append(md[i:i + 2])
            i += 2
        elif md[i] == "`":
            j = i
            while j < n and md[j] == "`":
                j += 1
            close = re.compile(r"(?<!`)" + md[i:j] + r"(?!`)").search(md, j)
            if close is None:
                out.append(md[i:j])
                i = j
            else:
                i = close.end()
        else:
            out.append(md[i])
            i += 1
    return "".join(out)


def assert_inert_markdown(md: str) -> None:
    """Outside code (shown literally) nothing may be markup, a script link or maths."""
    outside = outside_code(md)
    assert "<" not in outside, md
    assert not re.search(r"javascript\s*:", outside, re.I), md
    assert "$" not in outside, md
    # `\\(` and `\\[` in Markdown source become MathJax's `\(` and `\[` in the page; a single
    # backslash before `(` or `[` is only Markdown's escape and leaves the bracket.
    for opener in ("\\\\(", "\\\\[", "\\begin"):
        assert opener not in outside, md


def assert_no_math_html(html: str) -> None:
    """Every top-level element carries the class MathJax skips (with all it contains)."""
    parser = _Depth()
    parser.feed(html)
    assert parser.roots, html
    for classes in parser.roots:
        assert NO_MATH_CLASS in classes.split(), (classes, html[:300])


class _Depth(HTMLParser):
    VOID = {"br", "hr", "col", "img", "input", "rect"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.roots: list[str] = []

    def handle_starttag(self, tag, attrs):
        if self.depth == 0:
            self.roots.append(dict(attrs).get("class") or "")
        if tag not in self.VOID:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag not in self.VOID:
            self.depth -= 1


__all__ = ["OUR_TAGS", "OUR_ATTRS", "assert_inert", "assert_inert_markdown", "outside_code",
           "assert_no_math_html"]
