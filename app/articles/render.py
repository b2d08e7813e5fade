"""Markdown body → sanitised HTML, plain text, word count and reading time.

Rendering is CPU work that grows with the body, so writes run it in a thread, before their
transaction begins, and refuse with a ``422`` what would take too long: a body over
``MAX_BODY_CHARS``, one whose HTML nests deeper than ``MAX_NESTING_DEPTH`` (the HTML
parser of the sanitiser spends time proportional to the depth on every element, so deep
nesting is quadratic: 20,000 nested ``>`` took seconds), and one whose HTML grows past
``MAX_HTML_CHARS`` (a character of Markdown can become 27 of HTML).
"""

import asyncio
import html
import math
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import BinaryIO

import cmarkgfm
import nh3
import orjson
from cmarkgfm.cmark import Options

from app.errors import ValidationFailed

WORDS_PER_MINUTE = 200
MAX_BODY_CHARS = 500_000
MAX_NESTING_DEPTH = 64
MAX_HTML_CHARS = 2_000_000
LIMITS_DOC = (
    f"At most {MAX_BODY_CHARS:,} characters; its HTML may nest at most {MAX_NESTING_DEPTH} "
    f"elements deep (block quotes, lists, raw HTML) and be at most {MAX_HTML_CHARS:,} "
    "characters long. A body over these limits is a `422`."
)

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


# The start or end of an element in the HTML cmark writes. Only the name is read, never
# up to the closing ">", so that a scan stays linear whatever the text holds.
_TAG_START = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)")
# Elements that hold no content, and those whose end tag may be left out: the HTML parser
# closes the latter by itself, so counting them could only overstate the depth.
_NOT_NESTING = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody",
    "tfoot", "option", "optgroup", "rb", "rt", "rp", "rtc", "colgroup", "caption",
}  # fmt: skip


def nesting_depth(raw_html: str, *, stop_above: int = MAX_NESTING_DEPTH) -> int:
    """How deep the elements of ``raw_html`` nest (stopping early once past
    ``stop_above``): a start tag opens an element, an end tag closes the innermost open
    element of its name and every one inside it, an end tag with no open element is
    ignored, as the HTML parser does."""
    stack: list[str] = []
    open_count: dict[str, int] = {}
    deepest = 0
    for match in _TAG_START.finditer(raw_html):
        name = match.group(2).lower()
        if name in _NOT_NESTING:
            continue
        if not match.group(1):
            stack.append(name)
            open_count[name] = open_count.get(name, 0) + 1
            deepest = max(deepest, len(stack))
            if deepest > stop_above:
                break
        elif open_count.get(name):
            while True:
                closed = stack.pop()
                open_count[closed] -= 1
                if closed == name:
                    break
    return deepest


def _refuse(detail: str, error_type: str) -> ValidationFailed:
    return ValidationFailed(detail, loc=["body", "body"], error_type=error_type)


def markdown_to_html(markdown: str) -> str:
    """The unsanitised HTML of a body, or a 422 when the body is over the limits."""
    if len(markdown) > MAX_BODY_CHARS:
        raise _refuse(f"body may be at most {MAX_BODY_CHARS:,} characters.", "string_too_long")
    rendered: str = cmarkgfm.markdown_to_html_with_extensions(
        markdown, options=_MARKDOWN_OPTIONS, extensions=_MARKDOWN_EXTENSIONS
    )
    if len(rendered) > MAX_HTML_CHARS:
        raise _refuse(
            f"body renders to more than {MAX_HTML_CHARS:,} characters of HTML.", "body_too_large"
        )
    if nesting_depth(rendered) > MAX_NESTING_DEPTH:
        raise _refuse(
            f"body nests more than {MAX_NESTING_DEPTH} levels deep (block quotes, lists or "
            "HTML elements inside one another).",
            "body_too_deep",
        )
    return rendered


async def render_body_in_thread(markdown: str) -> RenderedBody:
    """``render_body`` in a worker thread: the event loop keeps serving meanwhile."""
    return await asyncio.to_thread(render_body, markdown)


def render_body(markdown: str) -> RenderedBody:
    """Render, sanitise and measure a body; a ``ValidationFailed`` (422) when it is over
    the limits. CPU-bound: async callers use ``render_body_in_thread``."""
    rendered = markdown_to_html(markdown)
    clean_html = sanitise(rendered) if markdown else ""
    text = html_to_text(clean_html)
    words = count_words(text)
    return RenderedBody(
        html=clean_html,
        text=text,
        word_count=words,
        reading_time_minutes=math.ceil(words / WORDS_PER_MINUTE),
    )


def render_bodies(markdowns: Sequence[str]) -> list[RenderedBody | str]:
    """Render many bodies: each one rendered, or the reason it was refused (what its
    ``422`` would say)."""
    rendered: list[RenderedBody | str] = []
    for markdown in markdowns:
        try:
            rendered.append(render_body(markdown))
        except ValidationFailed as exc:
            rendered.append(exc.detail)
    return rendered


# Rendering in worker processes (an import's bodies). A worker is this module run as a
# program (``python -m app.articles.render``): it imports only what rendering needs, so it
# starts in a tenth of a second, where a multiprocessing worker would first import the
# whole program that started it. It reads frames of bodies from its standard input and
# answers each with a frame of what they became, until its input ends: when the process
# that started it finishes, or dies (a ``kill -9`` included), so no worker outlives it.
# A frame: its length (4 bytes, big-endian), then JSON.


def _write_frame(stream: BinaryIO, payload: bytes) -> None:
    stream.write(len(payload).to_bytes(4, "big") + payload)
    stream.flush()


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """A worker's loop: a frame of Markdown bodies in, a frame out with, for each, its
    ``[html, text, word_count, reading_time_minutes]`` or the reason it was refused."""
    while len(header := requests.read(4)) == 4:
        bodies = orjson.loads(requests.read(int.from_bytes(header, "big")))
        rendered = render_bodies(bodies)
        answer = [body if isinstance(body, str) else astuple(body) for body in rendered]
        _write_frame(answers, orjson.dumps(answer))


# Where the ``app`` package is: a worker finds it there, whatever its current directory.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def render(self, request: bytes) -> list[RenderedBody | str]:
        """Render a frame of bodies (JSON, made by the caller)."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None
        assert stdout is not None
        stdin.write(len(request).to_bytes(4, "big") + request)
        await stdin.drain()
        try:
            header = await stdout.readexactly(4)
            answer = orjson.loads(await stdout.readexactly(int.from_bytes(header, "big")))
        except asyncio.IncompleteReadError as exc:
            raise RuntimeError("a rendering worker process ended unexpectedly") from exc
        return [body if isinstance(body, str) else RenderedBody(*body) for body in answer]

    async def stop(self) -> None:
        """Close its input, so that it exits; one stuck (its answer never read, after a
        failure) is killed."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=5)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


class RenderWorkers:
    """Worker processes that render bodies, a part of a batch each at a time."""

    def __init__(self, count: int, chunk: int) -> None:
        self.count = count
        self.chunk = chunk
        self.idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self.workers: list[_Worker] = []

    async def start(self) -> None:
        path = os.pathsep.join(filter(None, (_PACKAGE_ROOT, os.environ.get("PYTHONPATH"))))
        for _ in range(self.count):
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                __name__ if __name__ != "__main__" else "app.articles.render",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=dict(os.environ, PYTHONPATH=path),
            )
            self.workers.append(_Worker(process))
            self.idle.put_nowait(self.workers[-1])

    async def render(self, markdowns: Sequence[str]) -> list[RenderedBody | str]:
        if not self.workers:
            await self.start()
        parts = [
            self._render_part(markdowns[start : start + self.chunk])
            for start in range(0, len(markdowns), self.chunk)
        ]
        return [body for part in await asyncio.gather(*parts) for body in part]

    async def _render_part(self, markdowns: Sequence[str]) -> list[RenderedBody | str]:
        try:
            request = orjson.dumps(list(markdowns))
        except orjson.JSONEncodeError:
            # Text that JSON cannot carry (a lone surrogate): rendered here, as it would be
            # without workers, to the same outcome.
            return await asyncio.to_thread(render_bodies, markdowns)
        worker = await self.idle.get()
        try:
            return await worker.render(request)
        finally:
            self.idle.put_nowait(worker)

    async def close(self) -> None:
        """End the workers."""
        workers, self.workers = self.workers, []
        await asyncio.gather(*(worker.stop() for worker in workers))


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
