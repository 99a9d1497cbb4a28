"""Citations in the model's answer, ``【cursor†L9-L11】``, turned into links to documents.

The cursor names a page the browser showed in this chat; the lines are that page's display
lines. For a document page they map back to lines of the document's text (for .txt and .md
these are the file's own lines) and, for PDFs, to page numbers. The chat shows each citation
as a link to (document path, line range).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gptoss_desktop.core.tools.browser.pages import Page
from gptoss_desktop.core.tools.browser.session import BrowserSession

CITATION = re.compile(r"【(?P<cursor>\d+)†L(?P<start>\d+)(?:-L(?P<end>\d+))?】")
_LINK_ON_LINE = re.compile(r"【(\d+)†")


@dataclass(frozen=True)
class Citation:
    """One resolved citation. Lines are 1-based lines of the document's text."""

    start: int  # span of the citation in the answer text
    end: int
    cursor: int
    path: Path  # the document file
    relpath: str
    first_line: int
    last_line: int
    pdf_page: int | None = None

    @property
    def url(self) -> str:
        uri = self.path.as_uri()
        if self.pdf_page is not None:
            return f"{uri}#page={self.pdf_page}"
        if self.first_line == self.last_line:
            return f"{uri}#L{self.first_line}"
        return f"{uri}#L{self.first_line}-L{self.last_line}"

    @property
    def label(self) -> str:
        lines = (
            f"L{self.first_line}"
            if self.first_line == self.last_line
            else f"L{self.first_line}-L{self.last_line}"
        )
        page = f", p. {self.pdf_page}" if self.pdf_page is not None else ""
        return f"{self.relpath} {lines}{page}"


@dataclass(frozen=True)
class LinkedAnswer:
    """The answer with citations written as Markdown links, and the citations themselves
    (with spans in the original text). Citations that point nowhere stay as written."""

    markdown: str
    citations: tuple[Citation, ...]
    unresolved: tuple[str, ...]


def _resolve(session: BrowserSession, match: re.Match[str]) -> Citation | None:
    cursor = int(match["cursor"])
    if not 0 <= cursor < len(session.pages):
        return None
    page: Page = session.pages[cursor]
    first = int(match["start"])
    last = int(match["end"] or first)
    if last < first or first >= len(page.lines):
        return None
    last = min(last, len(page.lines) - 1)
    if page.kind == "document" and page.document is not None:
        relpath = page.document
        src_first, src_last = page.source_lines[first], page.source_lines[last]
    else:  # a result page: the first link on the cited lines
        link = None
        for line in page.lines[first : last + 1]:
            found = _LINK_ON_LINE.search(line)
            if found and int(found.group(1)) in page.links:
                link = page.links[int(found.group(1))]
                break
        if link is None:
            return None
        relpath, src_first, src_last = link.path, link.line, link.line
    try:
        doc = session.index.document(relpath)
    except Exception:
        return None
    return Citation(
        match.start(),
        match.end(),
        cursor,
        session.index.root / relpath,
        relpath,
        src_first + 1,
        src_last + 1,
        doc.page_of_line(src_first),
    )


def link_citations(text: str, session: BrowserSession) -> LinkedAnswer:
    """Resolve every ``【cursor†Lx-Ly】`` in ``text`` against the session's pages."""
    parts: list[str] = []
    citations: list[Citation] = []
    unresolved: list[str] = []
    last = 0
    for match in CITATION.finditer(text):
        parts.append(text[last : match.start()])
        citation = _resolve(session, match)
        if citation is None:
            unresolved.append(match.group(0))
            parts.append(match.group(0))
        else:
            citations.append(citation)
            space = "" if not parts[-1] or parts[-1][-1].isspace() else " "
            parts.append(f"{space}([{citation.label}]({citation.url}))")
        last = match.end()
    parts.append(text[last:])
    return LinkedAnswer("".join(parts), tuple(citations), tuple(unresolved))
