"""Word-prefix matching for the ``q`` filter of authors and entities.

Each row keeps a lower-cased, space-separated copy of its names (and their ASCII
transliteration); ``q`` then becomes a LIKE pattern that works the same on both databases.
"""

import re

from slugify import slugify
from sqlalchemy import ColumnElement

_WORD = re.compile(r"\w+")
_SEPARATOR = " | "


def _words(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def build_search_text(*names: str) -> str:
    segments: list[str] = []
    for name in names:
        for variant in (_words(name), slugify(name).replace("-", " ")):
            if variant and variant not in segments:
                segments.append(variant)
    return " " + _SEPARATOR.join(segments) + " "


def matches_prefix(column: ColumnElement[str], q: str) -> ColumnElement[bool] | None:
    """Rows where ``q`` starts a word of a name; None when ``q`` holds no word at all."""
    words = _words(q)
    if not words:
        return None
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"% {escaped}%", escape="\\")
