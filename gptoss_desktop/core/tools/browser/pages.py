"""Browser pages and how they are shown to the model, in the gpt-oss browser's format.

A page is a search result list, a document, or a find result list. Its text is wrapped at 80
columns into numbered lines; a view of it reads::

    [3] Title (notes/guide.md)
    **viewing lines [0 - 41] of 120**

    L0: first line
    L1: ...

Links on result pages are written ``【id†title†path】``; the model opens them by id and
cites what it read as ``【cursor†L9-L11】``.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

from gptoss_desktop.core.errors import ToolError

WRAP_WIDTH = 80
#: How much a view shows when the model gives no ``num_lines`` (the reference tool shows
#: about 1024 tokens; about four characters make a token).
VIEW_CHARS = 4000


@dataclass(frozen=True)
class Link:
    """Where a link on a result page leads: a document and a line in its text."""

    path: str
    line: int = 0  # source line of the document's text
    wrapped_line: int | None = None  # exact wrapped line when known (find results)


#: textwrap breaks a long word by re-slicing the rest of it for every display line, which
#: is quadratic: one 8 MiB line took minutes. Lines holding a word this long are first cut
#: into pieces of :data:`_PIECE` characters (at the last space in reach, else at a multiple
#: of the width, where textwrap would break the word anyway), so wrapping stays linear.
_LONG_WORD = re.compile(rf"\S{{{64 * WRAP_WIDTH}}}")
_PIECE = 32 * WRAP_WIDTH


def _pieces(line: str) -> list[str]:
    if _LONG_WORD.search(line) is None:
        return [line]
    pieces, start = [], 0
    while len(line) - start > _PIECE:
        cut = line.rfind(" ", start + 1, start + _PIECE)
        cut = start + _PIECE if cut < 0 else cut + 1
        pieces.append(line[start:cut])
        start = cut
    pieces.append(line[start:])
    return pieces


def _wrap_line(line: str) -> list[str]:
    if not line:
        return [""]
    out: list[str] = []
    for piece in _pieces(line):
        out += textwrap.wrap(
            piece, width=WRAP_WIDTH, replace_whitespace=False, drop_whitespace=False
        )
    return out or [""]


def wrap(text: str) -> tuple[list[str], list[int]]:
    """The display lines of ``text`` and, for each, the source line it comes from (linear)."""
    lines: list[str] = []
    sources: list[int] = []
    for number, line in enumerate(text.split("\n")):
        pieces = _wrap_line(line)
        lines.extend(pieces)
        sources.extend([number] * len(pieces))
    return lines, sources


@dataclass
class Page:
    kind: str  # "search", "document" or "find"
    url: str  # document path ("" for search results)
    title: str
    text: str
    links: dict[int, Link] = field(default_factory=dict)
    document: str | None = None  # the document this page shows or searched in
    _wrapped: tuple[list[str], list[int]] | None = field(default=None, repr=False)

    @property
    def lines(self) -> list[str]:
        return self._wrap()[0]

    @property
    def source_lines(self) -> list[int]:
        """For each display line, the line of the document's text it comes from."""
        return self._wrap()[1]

    def _wrap(self) -> tuple[list[str], list[int]]:
        if self._wrapped is None:
            self._wrapped = wrap(self.text)
        return self._wrapped

    def display_line_of(self, source_line: int) -> int:
        """The first display line that shows ``source_line`` of the text."""
        for index, source in enumerate(self.source_lines):
            if source >= source_line:
                return index
        return max(len(self.lines) - 1, 0)

    def view(self, cursor: int, loc: int = 0, num_lines: int = -1) -> str:
        lines = self.lines
        total = len(lines)
        if loc < 0:
            loc = 0
        if loc >= total:
            raise ToolError(
                f"Invalid location parameter: `{loc}`. Cannot exceed page maximum of {total - 1}."
            )
        if num_lines <= 0:
            end, used = loc, 0
            while end < total and (end == loc or used + len(lines[end]) + 8 <= VIEW_CHARS):
                used += len(lines[end]) + 8
                end += 1
        else:
            end = min(loc + num_lines, total)
        body = "\n".join(f"L{i}: {lines[i]}" for i in range(loc, end))
        header = f"{self.title} ({self.url})" if self.url else self.title
        return (
            f"[{cursor}] {header}\n**viewing lines [{loc} - {end - 1}] of {total - 1}**\n\n{body}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "url": self.url,
            "title": self.title,
            "text": self.text,
            "document": self.document,
            "links": {str(k): [v.path, v.line, v.wrapped_line] for k, v in self.links.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Page:
        links = {int(k): Link(str(v[0]), int(v[1]), v[2]) for k, v in data["links"].items()}
        return cls(
            str(data["kind"]),
            str(data["url"]),
            str(data["title"]),
            str(data["text"]),
            links,
            data.get("document"),
        )
