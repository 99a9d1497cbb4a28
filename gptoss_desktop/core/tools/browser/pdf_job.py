"""PDF text extraction, run in the limited helper process (see :mod:`gptoss_desktop.core.limited`).

pypdf works on hostile bytes here, never in the app: the helper's memory is capped and the
app kills it when a document runs past its time budget. Inside, two more bounds: pages whose
content streams are the very same objects as an earlier page's are not parsed again (a 10 KiB
PDF whose 40 pages share one expensive stream took 40 times as long), and extraction stops
at the page where the time budget runs out, keeping what it has.
"""

from __future__ import annotations

import io
import time
from typing import Any

from gptoss_desktop.core.tools.browser.documents import MAX_PDF_PAGES, clean


def _content_key(page: Any) -> tuple[Any, ...] | None:
    """The identity of a page's content streams (None when they are not shared objects)."""
    try:
        raw = page.raw_get("/Contents")
    except (KeyError, AttributeError):
        return None
    items = raw if isinstance(raw, list) else [raw]
    keys = []
    for item in items:
        idnum = getattr(item, "idnum", None)
        if idnum is None:
            return None
        keys.append((idnum, getattr(item, "generation", 0)))
    return tuple(keys)


def extract_job(args: dict[str, Any], payload: bytes) -> tuple[dict[str, Any], bytes]:
    try:
        import pypdf
    except ImportError:
        return {"error": "PDF support needs the pypdf package, which is not installed"}, b""
    budget = float(args.get("time_s", 10.0))
    max_pages = int(args.get("max_pages", MAX_PDF_PAGES))
    deadline = time.monotonic() + budget
    try:
        reader = pypdf.PdfReader(io.BytesIO(payload))
        starts: list[int] = []
        lines: list[str] = []
        seen: dict[tuple[Any, ...], list[str]] = {}
        for number, page in enumerate(reader.pages):
            if number >= max_pages:
                lines.append(
                    f"[... the PDF has more than {max_pages} pages; the rest is not indexed]"
                )
                break
            if time.monotonic() > deadline:
                lines.append(
                    f"[... reading this PDF took longer than {budget:g} s; pages from "
                    f"{number + 1} on are not indexed]"
                )
                break
            starts.append(len(lines))
            key = _content_key(page)
            if key is not None and key in seen:
                lines.extend(seen[key])
                continue
            page_lines = clean(page.extract_text() or "").split("\n")
            if key is not None:
                seen[key] = page_lines
            lines.extend(page_lines)
        meta = reader.metadata
        title = str(meta.title) if meta is not None and meta.title else ""
    except MemoryError:
        raise
    except Exception as exc:  # pypdf raises many kinds on damaged files
        return {"error": f"the PDF could not be read ({type(exc).__name__}: {exc})"[:500]}, b""
    return {"title": clean(title)[:500], "page_starts": starts}, "\n".join(lines).encode("utf-8")
