"""Turning the user's documents into plain text: .txt, .md, .html/.htm and .pdf.

Text and Markdown are read as they are (lines stay the file's lines, so citations point to
real line numbers). HTML goes through the standard library's html.parser: scripts, styles
and the head are dropped, block elements become lines, headings get ``#`` marks, list items
``*``. PDF text comes from pypdf (an optional dependency; without it PDFs are listed as
skipped), page by page, remembering where each page starts; it runs in a limited helper
process (memory cap, time budget, kill: see :mod:`.pdf_job`). Files are read without following
links, never from a FIFO or device, and never more than :data:`MAX_DOCUMENT_BYTES`. All text is cleaned of the
browser's own link brackets (【】 become 〖〗) and of control characters, so a document
cannot forge a link or a citation.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from gptoss_desktop.core.errors import ToolError
from gptoss_desktop.core.fileio import NotRegularFile, open_regular, read_bounded
from gptoss_desktop.core.limited import JobFailed, LimitedProcess, LimitExceeded

SUFFIXES = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown",
            ".html": "html", ".htm": "html", ".pdf": "pdf"}  # fmt: skip
MAX_PDF_PAGES = 2000
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
#: Per PDF: pypdf's time budget in the helper, the grace before the helper is killed, and the
#: helper's address-space cap (POSIX except macOS).
PDF_TIME_S = 8.0
PDF_GRACE_S = 4.0
PDF_MEMORY_BYTES = 1024 * 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b\u2028\u2029]")
_BRACKETS = str.maketrans({"【": "〖", "】": "〗"})


@dataclass(frozen=True)
class Extracted:
    """A document as text. ``page_starts[i]`` is the first line of PDF page i+1."""

    kind: str
    title: str
    text: str
    page_starts: tuple[int, ...] = ()


def clean(text: str) -> str:
    """Text safe to show as browser lines: one kind of newline, no control characters, no
    【】 (which would read as links or citations), no trailing blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return _CONTROL.sub("", text).translate(_BRACKETS).rstrip("\n")


def kind_of(path: Path) -> str | None:
    return SUFFIXES.get(path.suffix.lower())


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class _HtmlText(HTMLParser):
    _SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})
    _PARAGRAPH = frozenset({"p", "div", "section", "article", "header", "footer", "nav", "main", "aside",
                  "table", "ul", "ol", "dl", "blockquote", "figure", "form", "pre",
                  "h1", "h2", "h3", "h4", "h5", "h6"})  # fmt: skip
    _LINE = frozenset({"tr", "li", "dt", "dd", "br", "hr", "figcaption"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip = 0
        self.pre = 0
        self.title = ""
        self.in_title = False
        self.first_h1 = ""
        self.in_h1 = False

    def _break(self, blank: bool = False) -> None:
        line = "".join(self.current)
        line = line.rstrip() if self.pre else " ".join(line.split())
        if line or self.pre:
            self.lines.append(line)
        if blank and self.lines and self.lines[-1]:
            self.lines.append("")
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
        if tag in self._SKIP:
            self.skip += 1
            return
        if tag in self._PARAGRAPH or tag in self._LINE:
            self._break(blank=tag in self._PARAGRAPH)
        if tag == "pre":
            self.pre += 1
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.current.append("#" * int(tag[1]) + " ")
            self.in_h1 = tag == "h1" and not self.first_h1
        elif tag == "li":
            self.current.append("* ")
        elif tag in ("td", "th"):
            self.current.append(" | " if self.current else "")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.current.append(f"[Image: {alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in self._SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if tag == "h1":
            self.in_h1 = False
        if tag in self._PARAGRAPH or tag in self._LINE:
            self._break(blank=tag in self._PARAGRAPH)
        if tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        if self.skip:
            return
        if self.in_h1:
            self.first_h1 += data
        if self.pre:
            parts = data.split("\n")
            for part in parts[:-1]:
                self.current.append(part)
                self._break()
            self.current.append(parts[-1])
        else:
            self.current.append(data)

    def result(self) -> tuple[str, str]:
        self._break()
        while self.lines and not self.lines[-1]:
            self.lines.pop()
        title = " ".join(self.title.split()) or " ".join(self.first_h1.split())
        return title, "\n".join(self.lines)


def html_to_text(html: str) -> tuple[str, str]:
    """(title, text) of an HTML document."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return parser.result()


def _markdown_title(text: str) -> str:
    for line in text.splitlines()[:50]:
        if line.startswith("# "):
            return line[2:].strip()
    return ""


def _pdf(data: bytes, stem: str, helper: LimitedProcess | None) -> Extracted:
    """PDF text, read by pypdf in the limited helper (memory cap, time budget, kill)."""
    if importlib.util.find_spec("pypdf") is None:  # the helper runs the same interpreter
        raise ToolError("PDF support needs the pypdf package, which is not installed")
    own = helper is None
    runner = helper or LimitedProcess("pdf", memory_bytes=PDF_MEMORY_BYTES)
    try:
        reply, text = runner.call(
            "pdf.extract",
            {"time_s": PDF_TIME_S, "max_pages": MAX_PDF_PAGES},
            data,
            timeout_s=PDF_TIME_S + PDF_GRACE_S,
        )
    except LimitExceeded as exc:
        raise ToolError(f"the PDF was not indexed: reading {exc}") from None
    except JobFailed as exc:
        raise ToolError(f"the PDF could not be read ({exc.kind}: {exc})") from None
    finally:
        if own:
            runner.close()
    if reply.get("error"):
        raise ToolError(str(reply["error"]))
    starts = tuple(int(n) for n in reply.get("page_starts", []))
    return Extracted("pdf", str(reply.get("title") or "") or stem, text.decode("utf-8"), starts)


def read_document(path: Path, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The bytes of a document file: never through a link, never from a FIFO, at most ``limit``."""
    try:
        with open_regular(path, nofollow=True) as fh:
            data, more = read_bounded(fh, limit)
    except NotRegularFile as exc:
        raise ToolError(f"{path.name}: {exc.strerror}; not indexed") from None
    except OSError as exc:
        raise ToolError(f"{path.name}: cannot be read ({exc.strerror})") from None
    if more:
        raise ToolError(f"{path.name}: larger than {limit // (1024 * 1024)} MiB, not indexed")
    return data


def extract_data(
    kind: str, data: bytes, stem: str, *, pdf_helper: LimitedProcess | None = None
) -> Extracted:
    """The text of a document of ``kind`` from its bytes. Raises ToolError when it cannot be read."""
    if kind == "pdf":
        return _pdf(data, stem, pdf_helper)
    raw = _decode(data)
    if kind == "html":
        title, text = html_to_text(raw)
        return Extracted(kind, clean(title) or stem, clean(text))
    text = clean(raw)
    title = _markdown_title(text) if kind == "markdown" else ""
    return Extracted(kind, title or stem, text)


def extract(path: Path, *, pdf_helper: LimitedProcess | None = None) -> Extracted:
    """The text of one document. Raises ToolError when it cannot be read."""
    kind = kind_of(path)
    if kind is None:
        raise ToolError(f"{path.name}: not a supported document type")
    return extract_data(kind, read_document(path), path.stem, pdf_helper=pdf_helper)
