"""Turning the user's documents into plain text: .txt, .md, .html/.htm and .pdf.

Text and Markdown are read as they are (lines stay the file's lines, so citations point to
real line numbers). HTML goes through the standard library's html.parser: scripts, styles
and the head are dropped, block elements become lines, headings get ``#`` marks, list items
``*``. PDF text comes from pypdf (an optional dependency; without it PDFs are listed as
skipped), page by page, remembering where each page starts. All text is cleaned of the
browser's own link brackets (【】 become 〖〗) and of control characters, so a document
cannot forge a link or a citation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from gptoss_desktop.core.errors import ToolError

SUFFIXES = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown",
            ".html": "html", ".htm": "html", ".pdf": "pdf"}  # fmt: skip
MAX_PDF_PAGES = 2000
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


def _pdf(path: Path) -> Extracted:
    try:
        import pypdf
    except ImportError:
        raise ToolError("PDF support needs the pypdf package, which is not installed") from None
    try:
        reader = pypdf.PdfReader(str(path))
        starts: list[int] = []
        lines: list[str] = []
        for number, page in enumerate(reader.pages):
            if number >= MAX_PDF_PAGES:
                lines.append(
                    f"[... the PDF has more than {MAX_PDF_PAGES} pages; the rest is not indexed]"
                )
                break
            starts.append(len(lines))
            lines.extend(clean(page.extract_text() or "").split("\n"))
        meta = reader.metadata
        title = str(meta.title) if meta is not None and meta.title else ""
    except ToolError:
        raise
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise ToolError(f"the PDF could not be read ({type(exc).__name__}: {exc})") from None
    return Extracted("pdf", title or path.stem, "\n".join(lines), tuple(starts))


def extract(path: Path) -> Extracted:
    """The text of one document. Raises ToolError when it cannot be read."""
    kind = kind_of(path)
    if kind is None:
        raise ToolError(f"{path.name}: not a supported document type")
    if kind == "pdf":
        return _pdf(path)
    try:
        raw = _decode(path.read_bytes())
    except OSError as exc:
        raise ToolError(f"{path.name}: cannot be read ({exc.strerror})") from None
    if kind == "html":
        title, text = html_to_text(raw)
        return Extracted(kind, clean(title) or path.stem, clean(text))
    text = clean(raw)
    title = _markdown_title(text) if kind == "markdown" else ""
    return Extracted(kind, title or path.stem, text)
