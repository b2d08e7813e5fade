"""Markdown body → sanitised HTML, plain text, word count and reading time."""

import html
import math
import re
from dataclasses import dataclass

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options

WORDS_PER_MINUTE = 200

# CommonMark (cmark, the reference implementation, about twenty times faster than a pure
# Python parser) with tables, and with raw HTML kept: whatever HTML the author writes, and
# any link the Markdown makes, is sanitised below.
_MARKDOWN_OPTIONS = Options.CMARK_OPT_UNSAFE
_MARKDOWN_EXTENSIONS = ["table"]
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
# Tags of sanitised HTML that end a line of text (block tags a paragraph, the rest a line).
# Sanitised HTML keeps no attribute on these but ``start`` and ``align``, so matching a tag
# up to its first ``>`` is exact.
_PRE_BLOCK = re.compile(r"(<pre\b.*?</pre>)", re.DOTALL)
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|ul|ol|blockquote|pre|h[1-6]|hr|table|figure|figcaption|dl)\b[^>]*>"
)
_LINE_TAG = re.compile(r"<(?:br|li|tr|dt|dd)\b[^>]*>")
_CELL_END = re.compile(r"</t[dh]>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_SPACES_AROUND_NEWLINE = re.compile(r" ?\n ?")
_BLANK_LINES = re.compile(r"\n{3,}")
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


def html_to_text(clean_html: str) -> str:
    """The visible text of sanitised HTML: a blank line between blocks, a line break for
    each line break, list item and table row; other newlines are spaces, as on a page,
    except inside ``<pre>``."""
    parts = _PRE_BLOCK.split(clean_html)
    # split() puts the <pre> blocks at the odd indexes.
    marked = "".join(
        part if index % 2 else part.replace("\n", " ") for index, part in enumerate(parts)
    )
    marked = _CELL_END.sub(" ", _LINE_TAG.sub("\n", _BLOCK_TAG.sub("\n\n", marked)))
    text = html.unescape(nh3.clean(marked, tags=set()))
    text = _SPACES_AROUND_NEWLINE.sub("\n", _SPACES.sub(" ", text))
    return _BLANK_LINES.sub("\n\n", text).strip()


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def render_body(markdown: str) -> RenderedBody:
    rendered = cmarkgfm.markdown_to_html_with_extensions(
        markdown, options=_MARKDOWN_OPTIONS, extensions=_MARKDOWN_EXTENSIONS
    )
    clean_html = sanitise(rendered) if markdown else ""
    text = html_to_text(clean_html)
    words = count_words(text)
    return RenderedBody(
        html=clean_html,
        text=text,
        word_count=words,
        reading_time_minutes=math.ceil(words / WORDS_PER_MINUTE),
    )
