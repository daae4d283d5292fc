"""Nothing the product renders may be executable: assertions over HTML and Markdown output."""

from __future__ import annotations

import re
from html.parser import HTMLParser

OUR_TAGS = {"div", "span", "p", "br", "ul", "ol", "li", "h3", "h4", "h5", "h6", "pre", "code",
            "blockquote", "hr", "a", "strong", "em", "table", "thead", "tbody", "tr", "td", "th",
            "details", "summary", "svg", "rect", "text", "g", "title"}
OUR_ATTRS = {"class", "style", "href", "target", "rel", "open", "width", "height", "x", "y",
             "viewbox", "xmlns", "fill", "role", "aria-label", "font-size", "text-anchor",
             "colspan", "title"}
OUR_TAG_RE = re.compile(r"</?(?:%s)(?:\s+[a-z-]+(?:=\"[^\"<>]*\")?)*\s*/?>" % "|".join(OUR_TAGS),
                        re.I)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def assert_inert(html: str) -> None:
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
    # Every `<` left is the start of one of our own tags.
    assert "<" not in OUR_TAG_RE.sub("", html), OUR_TAG_RE.sub("", html)


def assert_inert_markdown(md: str) -> None:
    # Text inside a fenced code block is shown literally; outside it nothing may be markup.
    outside = re.sub(r"^(`{3,}|~{3,})[^`\n]*\n.*?\n\1$", "", md, flags=re.M | re.S)
    assert "<" not in outside, md
    assert not re.search(r"javascript\s*:", outside, re.I), md
