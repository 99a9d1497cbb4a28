"""The offline ``browser`` tool of one chat: search, open and find over the user's documents.

It behaves like gpt-oss's reference browser (same functions, arguments, cursors, line
numbers and link syntax) but its "web" is a local folder indexed by :class:`DocumentIndex`.
Every page the model sees is pushed on a stack; its position is the cursor the model cites.
``BrowserSession.handle(name, arguments)`` is the tool handler; usage errors come back to the
model as an error result, like the reference tool's error messages. It never uses the network:
a URL is answered with an explanation.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gptoss_desktop.core.errors import ToolError
from gptoss_desktop.core.fileio import NotRegularFile, open_under, read_bounded
from gptoss_desktop.core.tools.browser.documents import clean
from gptoss_desktop.core.tools.browser.index import DocumentIndex
from gptoss_desktop.core.tools.browser.pages import Link, Page
from gptoss_desktop.core.tools.results import Arguments, ToolResult, error_result, parse_arguments

NAMESPACE = "browser"
FIND_MAX_RESULTS = 50
FIND_SHOW_LINES = 4
MAX_SEARCH_RESULTS = 20
SOURCE_BYTES = 4 * 1024 * 1024  # view_source shows at most this much of a file


def _int(value: Any, name: str, default: int = -1) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ToolError(f"`{name}` should be an integer, not `{type(value).__name__}`")
    try:
        return int(value)
    except ValueError:
        raise ToolError(f"`{name}` should be an integer, not `{value}`") from None


class BrowserSession:
    """The browser state of one chat over one document index."""

    def __init__(
        self, index: DocumentIndex, *, max_search_results: int = MAX_SEARCH_RESULTS
    ) -> None:
        self.index = index
        self.max_search_results = max_search_results
        self.pages: list[Page] = []

    # --- page stack ------------------------------------------------------------------------
    @property
    def current_cursor(self) -> int:
        return len(self.pages) - 1

    def page(self, cursor: int = -1) -> Page:
        if not self.pages:
            raise ToolError("No pages to access! Search first.")
        if cursor == -1 or cursor == self.current_cursor:
            return self.pages[-1]
        if not 0 <= cursor < len(self.pages):
            raise ToolError(
                f"Cursor `{cursor}` is out of range. "
                f"Available cursor indices: [0 - {self.current_cursor}]."
            )
        return self.pages[cursor]

    def _show(self, page: Page, loc: int = 0, num_lines: int = -1) -> str:
        self.pages.append(page)
        try:
            return page.view(self.current_cursor, loc, num_lines)
        except ToolError:
            self.pages.pop()
            raise

    # --- the three functions ---------------------------------------------------------------
    def search(self, query: str, topn: int = 10) -> str:
        query = str(query)
        if not query.strip():
            raise ToolError("`query` is empty; say what to search for.")
        hits = self.index.search(query, max(1, min(topn, self.max_search_results)))
        lines = ["# Search Results", ""]
        links: dict[int, Link] = {}
        for number, hit in enumerate(hits):
            title = clean(hit.title).replace("†", "‡")
            lines.append(f"  * 【{number}†{title}†{hit.path}】 {clean(hit.snippet)}")
            links[number] = Link(hit.path, hit.line)
        if not hits:
            lines.append(f"No results found for `{query}` in the documents.")
        return self._show(Page("search", "", query, "\n".join(lines), links))

    def open(
        self,
        id: int | str = -1,
        cursor: int = -1,
        loc: int = -1,
        num_lines: int = -1,
        view_source: bool = False,
    ) -> str:
        link: Link | None = None
        if isinstance(id, str) and not id.lstrip("-").isdigit():
            link = Link(self._document_path(id))
        else:
            number = _int(id, "id")
            current = self.page(cursor)
            if number >= 0:
                if number not in current.links:
                    raise ToolError(f"Invalid link id `{number}`.")
                link = current.links[number]
            elif not view_source:  # scroll the page at cursor
                return self._show(current, max(loc, 0), num_lines)
            else:
                if current.document is None:
                    raise ToolError("This page has no source; open a document first.")
                link = Link(current.document)
        page = self._source_page(link.path) if view_source else self._document_page(link.path)
        if loc < 0:
            if link.wrapped_line is not None:
                loc = link.wrapped_line
            elif link.line > 0:
                loc = page.display_line_of(link.line)
            else:
                loc = 0
            if loc > 4:
                loc -= 4
        return self._show(page, loc, num_lines)

    def find(self, pattern: str, cursor: int = -1) -> str:
        page = self.page(cursor)
        if page.kind != "document":
            raise ToolError("Cannot run `find` on search results page or find results page")
        needle = str(pattern).lower()
        if not needle:
            raise ToolError("`pattern` is empty.")
        lines = page.lines
        chunks: list[str] = []
        links: dict[int, Link] = {}
        index = 0
        while index < len(lines) and len(chunks) < FIND_MAX_RESULTS:
            if needle not in lines[index].lower():
                index += 1
                continue
            number = len(chunks)
            snippet = "\n".join(lines[index : index + FIND_SHOW_LINES])
            chunks.append(f"# 【{number}†match at L{index}】\n{snippet}")
            links[number] = Link(page.document or page.url, page.source_lines[index], index)
            index += FIND_SHOW_LINES
        text = "\n\n".join(chunks) if chunks else f"No `find` results for pattern: `{pattern}`"
        result = Page(
            "find",
            f"{page.url}/find?pattern={quote(str(pattern))}",
            f"Find results for text: `{pattern}` in `{page.title}`",
            text,
            links,
            page.document,
        )
        return self._show(result)

    # --- documents -------------------------------------------------------------------------
    def _document_path(self, ident: str) -> str:
        ident = ident.strip()
        if "://" in ident and not ident.startswith("file://"):
            raise ToolError(
                "This browser is offline: it opens only documents from the chosen folder. "
                "Search first, then open a result by its number."
            )
        path = ident.removeprefix("file://")
        candidate = Path(path)
        if candidate.is_absolute():
            try:
                path = candidate.resolve().relative_to(self.index.root).as_posix()
            except ValueError:
                raise ToolError(f"`{ident}` is outside the document folder.") from None
        return path

    def _document_page(self, path: str) -> Page:
        doc = self.index.document(path)
        return Page("document", doc.path, doc.title, doc.text, {}, doc.path)

    def _source_page(self, path: str) -> Page:
        doc = self.index.document(path)
        if doc.kind == "pdf":
            raise ToolError("A PDF has no text source to view; open it without view_source.")
        try:  # no link followed, no FIFO opened, at most 4 MiB read (the file may have grown)
            with open_under(self.index.root, doc.path) as fh:
                raw = read_bounded(fh, SOURCE_BYTES)[0]
        except NotRegularFile as exc:
            raise ToolError(f"`{doc.path}` cannot be shown: it {exc.strerror}.") from None
        except OSError as exc:
            raise ToolError(f"`{doc.path}` cannot be read ({exc.strerror or exc}).") from None
        text = clean(raw.decode("utf-8", "replace"))
        return Page("document", f"view-source:{doc.path}", doc.title, text, {}, doc.path)

    # --- the tool handler ------------------------------------------------------------------
    def handle(self, name: str, arguments: Arguments) -> ToolResult:
        started = time.monotonic()
        function = name.removeprefix(NAMESPACE + ".")
        recipient = f"{NAMESPACE}.{function}"
        try:
            args = parse_arguments(arguments)
            if function == "search":
                text = self.search(str(args.get("query", "")), _int(args.get("topn"), "topn", 10))
            elif function == "open":
                ident = args.get("id", -1)
                if not isinstance(ident, int | str) or isinstance(ident, bool):
                    ident = _int(ident, "id")
                text = self.open(
                    ident,
                    _int(args.get("cursor"), "cursor"),
                    _int(args.get("loc"), "loc"),
                    _int(args.get("num_lines"), "num_lines"),
                    bool(args.get("view_source", False)),
                )
            elif function == "find":
                text = self.find(str(args.get("pattern", "")), _int(args.get("cursor"), "cursor"))
            else:
                raise ToolError(f"Unknown function: {function}; use search, open or find.")
        except ToolError as exc:
            return error_result(recipient, exc.message, time.monotonic() - started)
        page = self.pages[-1]
        return ToolResult(
            recipient,
            text,
            untrusted=True,
            elapsed_s=time.monotonic() - started,
            data={"cursor": self.current_cursor, "kind": page.kind, "url": page.url},
        )

    # --- persistence (the command line keeps a session between runs) -----------------------
    def state(self) -> str:
        return json.dumps({"pages": [p.to_dict() for p in self.pages]}, ensure_ascii=False)

    def restore(self, state: str) -> None:
        self.pages = [Page.from_dict(p) for p in json.loads(state)["pages"]]
