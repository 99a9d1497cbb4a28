"""A local full-text index of one document folder: SQLite FTS5 with BM25 ranking.

The index lives in its own file in the app's cache folder (one per document folder), is
brought up to date incrementally (new, changed and removed files, by size and mtime) and is
searched by passage, so a hit knows the line it comes from. Only files under the chosen
folder are read: hidden entries, symlinks, FIFOs and devices are skipped, and files are opened
without following links below the folder (a document swapped for a link between two
refreshes is not read). PDFs are read in a limited helper process (see documents.py).
Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gptoss_desktop.core.errors import ToolError
from gptoss_desktop.core.fileio import NotRegularFile, open_under, read_bounded
from gptoss_desktop.core.limited import LimitedProcess
from gptoss_desktop.core.paths import AppPaths
from gptoss_desktop.core.tools.browser.documents import PDF_MEMORY_BYTES, extract_data, kind_of

SCHEMA_VERSION = "1"
MAX_FILES = 5000
MAX_FILE_BYTES = 32 * 1024 * 1024
PASSAGE_LINES = 12
PASSAGE_CHARS = 1200
_WORD = re.compile(r"\w+", re.UNICODE)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
    id INTEGER PRIMARY KEY,
    path TEXT UNIQUE NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    page_starts TEXT NOT NULL,
    error TEXT
);
CREATE VIRTUAL TABLE IF NOT EXISTS passages USING fts5(
    title, body, doc_id UNINDEXED, line UNINDEXED, tokenize = 'unicode61 remove_diacritics 2'
);
"""


@dataclass(frozen=True)
class Document:
    """One indexed document; ``path`` is relative to the folder, with ``/`` separators."""

    path: str
    kind: str
    title: str
    text: str
    page_starts: tuple[int, ...] = ()

    def page_of_line(self, line: int) -> int | None:
        """The 1-based PDF page a text line is on (None for other kinds)."""
        if not self.page_starts:
            return None
        page = 0
        for number, start in enumerate(self.page_starts):
            if start <= line:
                page = number
        return page + 1


@dataclass(frozen=True)
class Hit:
    path: str
    title: str
    snippet: str
    line: int  # first line of the best passage
    score: float


def default_index_path(paths: AppPaths, root: Path) -> Path:
    digest = hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:20]
    return paths.cache_dir / "browser" / f"{digest}.sqlite3"


def fts_query(text: str) -> str:
    """An FTS5 query matching any of the words of ``text`` (each quoted, so no syntax errors)."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))[:32]
    return " OR ".join(f'"{w}"' for w in words)


def _passages(text: str) -> Iterator[tuple[int, str]]:
    lines = text.split("\n")
    start = 0
    while start < len(lines):
        end, size = start, 0
        while end < len(lines) and end - start < PASSAGE_LINES and size < PASSAGE_CHARS:
            size += len(lines[end]) + 1
            end += 1
        body = "\n".join(lines[start:end]).strip()
        if body:
            yield start, body
        start = end


class DocumentIndex:
    """The index of one folder. Not thread-safe: use it from one thread at a time."""

    def __init__(self, root: Path, index_path: Path) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise ToolError(f"{root}: not a folder; choose a folder of documents")
        index_path.parent.mkdir(parents=True, exist_ok=True)
        #: reads PDFs (pypdf) with a memory cap and a time budget; started on the first PDF
        self._pdf_helper = LimitedProcess("pdf", memory_bytes=PDF_MEMORY_BYTES)
        try:
            self.db = sqlite3.connect(index_path, check_same_thread=False)
            self._prepare()
        except sqlite3.DatabaseError as exc:
            raise ToolError(
                f"the document index {index_path} cannot be used ({exc}); delete it"
            ) from None

    def _prepare(self) -> None:
        self.db.executescript(_SCHEMA)
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            self.db.executescript("DELETE FROM documents; DELETE FROM passages;")
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            self.db.commit()

    def close(self) -> None:
        self.db.close()
        self._pdf_helper.close()

    def __enter__(self) -> DocumentIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _files(self) -> Iterator[tuple[str, os.stat_result]]:
        count = 0
        for folder, dirs, files in os.walk(self.root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                full = Path(folder) / name
                if name.startswith(".") or kind_of(full) is None:
                    continue
                try:
                    info = os.lstat(full)
                except OSError:
                    continue
                if not stat.S_ISREG(info.st_mode):  # links, FIFOs, sockets, devices
                    continue
                count += 1
                if count > MAX_FILES:
                    return
                yield full.relative_to(self.root).as_posix(), info

    def refresh(self) -> dict[str, int]:
        """Bring the index up to date with the folder; returns counts of what changed."""
        known = {
            path: (mtime, size)
            for path, mtime, size in self.db.execute("SELECT path, mtime_ns, size FROM documents")
        }
        seen: set[str] = set()
        counts = {"added": 0, "updated": 0, "removed": 0, "unchanged": 0}
        for rel, info in self._files():
            seen.add(rel)
            if known.get(rel) == (info.st_mtime_ns, info.st_size):
                counts["unchanged"] += 1
                continue
            counts["updated" if rel in known else "added"] += 1
            self._index_file(rel, info)
        for rel in set(known) - seen:
            self._remove(rel)
            counts["removed"] += 1
        self.db.commit()
        return counts

    def _remove(self, rel: str) -> None:
        row = self.db.execute("SELECT id FROM documents WHERE path = ?", (rel,)).fetchone()
        if row is not None:
            self.db.execute("DELETE FROM passages WHERE doc_id = ?", (row[0],))
            self.db.execute("DELETE FROM documents WHERE id = ?", (row[0],))

    def _index_file(self, rel: str, info: os.stat_result) -> None:
        self._remove(rel)
        full = self.root / rel
        error = None
        kind = kind_of(full) or "text"
        title, text = full.stem, ""
        starts: tuple[int, ...] = ()
        if info.st_size > MAX_FILE_BYTES:
            error = f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB, not indexed"
        else:
            try:
                doc = extract_data(
                    kind,
                    self.read_bytes(rel, MAX_FILE_BYTES),
                    full.stem,
                    pdf_helper=self._pdf_helper,
                )
                kind, title, text, starts = doc.kind, doc.title, doc.text, doc.page_starts
            except ToolError as exc:
                error = exc.message
        cursor = self.db.execute(
            "INSERT INTO documents(path, mtime_ns, size, kind, title, text, page_starts, error)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (rel, info.st_mtime_ns, info.st_size, kind, title, text, json.dumps(starts), error),
        )
        doc_id = cursor.lastrowid
        self.db.executemany(
            "INSERT INTO passages(title, body, doc_id, line) VALUES (?, ?, ?, ?)",
            ((title, body, doc_id, line) for line, body in _passages(text)),
        )

    def read_bytes(self, rel: str, limit: int) -> bytes:
        """The bytes of ``rel`` under the folder: no link followed anywhere below the folder,
        no FIFO or device opened, more than ``limit`` bytes refused (never read whole)."""
        try:
            with open_under(self.root, rel) as fh:
                data, more = read_bounded(fh, limit)
        except NotRegularFile as exc:
            raise ToolError(f"{rel}: {exc.strerror}; not read") from None
        except OSError as exc:
            raise ToolError(f"{rel}: cannot be read ({exc.strerror or exc})") from None
        if more:
            raise ToolError(f"{rel}: larger than {limit // (1024 * 1024)} MiB, not read")
        return data

    def problems(self) -> list[tuple[str, str]]:
        """Documents that could not be indexed, with the reason."""
        rows = self.db.execute("SELECT path, error FROM documents WHERE error IS NOT NULL")
        return [(str(p), str(e)) for p, e in rows]

    def paths(self) -> list[str]:
        return [str(r[0]) for r in self.db.execute("SELECT path FROM documents ORDER BY path")]

    def document(self, rel: str) -> Document:
        rel = rel.strip().removeprefix("./")
        row = self.db.execute(
            "SELECT path, kind, title, text, page_starts, error FROM documents WHERE path = ?",
            (rel,),
        ).fetchone()
        if row is None:
            raise ToolError(
                f"No document `{rel}` in the collection. Search first, then open a result."
            )
        if row[5]:
            raise ToolError(f"The document `{rel}` could not be read: {row[5]}")
        return Document(row[0], row[1], row[2], row[3], tuple(json.loads(row[4])))

    def search(self, query: str, topn: int = 10) -> list[Hit]:
        """The best documents for ``query``, one hit (its best passage) per document."""
        match = fts_query(query)
        if not match:
            return []
        rows = self.db.execute(
            "SELECT d.path, d.title, snippet(passages, 1, '', '', ' … ', 24), p.line,"
            " bm25(passages, 2.0, 1.0) AS score"
            " FROM passages AS p JOIN documents AS d ON d.id = p.doc_id"
            " WHERE passages MATCH ? ORDER BY score LIMIT 500",
            (match,),
        ).fetchall()
        hits: dict[str, Hit] = {}
        for path, title, snippet, line, score in rows:
            if path not in hits:
                text = " ".join(str(snippet).split())
                hits[path] = Hit(str(path), str(title), text, int(line), float(score))
            if len(hits) >= topn:
                break
        return list(hits.values())
