"""Markdown body → sanitised HTML, plain text, word count and reading time."""

import html
import math
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import nh3
from markdown_it import MarkdownIt

WORDS_PER_MINUTE = 200

# CommonMark with raw HTML allowed: whatever HTML the author writes is sanitised below.
_markdown = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table")
_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl", "dt",
    "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "ol": {"start"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "code": {"class"},
}
_URL_SCHEMES = {"http", "https", "mailto"}
_BLOCK_TAGS = {
    "p", "div", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "table", "figure", "figcaption", "dl",
}  # fmt: skip
_LINE_TAGS = {"br", "li", "tr", "dt", "dd"}
_WORD = re.compile(r"\w+(?:['’.-]\w+)*")


@dataclass(frozen=True)
class RenderedBody:
    html: str
    text: str
    word_count: int
    reading_time_minutes: int


def sanitise(raw_html: str) -> str:
    return nh3.clean(
        raw_html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


class _TextExtractor(HTMLParser):
    """Collects the visible text of sanitised HTML, one blank line between blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _LINE_TAGS:
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        if tag == "pre":
            self.pre_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        if tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)

    def handle_data(self, data: str) -> None:
        # Outside <pre>, a newline in HTML source is just a space on the page.
        self.parts.append(data if self.pre_depth else data.replace("\n", " "))


def html_to_text(clean_html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(clean_html)
    extractor.close()
    text = html.unescape("".join(extractor.parts))
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def render_body(markdown: str) -> RenderedBody:
    clean_html = sanitise(_markdown.render(markdown)) if markdown else ""
    text = html_to_text(clean_html)
    words = count_words(text)
    return RenderedBody(
        html=clean_html,
        text=text,
        word_count=words,
        reading_time_minutes=math.ceil(words / WORDS_PER_MINUTE),
    )
