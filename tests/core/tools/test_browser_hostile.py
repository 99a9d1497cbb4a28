"""Issue #17 item 6: a hostile documents folder cannot hang, stall or redirect the browser.

Evidence: wall-clock times measured around each call (a hang fails the join timeout instead
of freezing the suite), the content of an outside marker file absent from what the model
sees, and the bytes this process read (``/proc/self/io``) while showing a file that grew.
"""

from __future__ import annotations

import io
import os
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gptoss_desktop.core.tools.browser import BrowserSession, DocumentIndex, documents
from gptoss_desktop.core.tools.browser.pages import wrap

SECRET = "outside-marker-7f3a9c"
MiB = 1024 * 1024


def _timed(fn: Callable[[], Any], limit_s: float) -> tuple[Any, float]:
    """Run ``fn`` in a thread; fail (instead of hanging) if it is not done in ``limit_s``."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(("ok", fn()))
        except BaseException as exc:
            box.append(("err", exc))

    t0 = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit_s)
    took = time.monotonic() - t0
    assert not thread.is_alive(), f"still running after {limit_s} s (hang)"
    kind, value = box[0]
    if kind == "err":
        raise value
    return value, took


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "plain.txt").write_text("Rhubarb grows in spring.\n")
    return folder


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(f"{SECRET}\n")
    return secret


def shared_stream_pdf(pages: int = 40, ops: int = 20_000) -> bytes:
    """A small PDF whose pages all use one expensive content stream (one object)."""
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, NumberObject, StreamObject

    w = PdfWriter()
    stream = StreamObject()
    stream._data = zlib.compress(b"BT /F1 12 Tf " + b"(ab) Tj 1 0 0 1 0 0 Tm " * ops + b"ET", 9)
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    stream[NameObject("/Length")] = NumberObject(len(stream._data))
    ref = w._add_object(stream)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    res = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): w._add_object(font)})}
    )
    for _ in range(pages):
        page = w.add_blank_page(612, 792)
        page[NameObject("/Contents")] = ref
        page[NameObject("/Resources")] = res
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_like_a_document_does_not_hang_indexing(docs, tmp_path):
    os.mkfifo(docs / "notes.txt")
    os.mkfifo(docs / "manual.pdf")
    with DocumentIndex(docs, tmp_path / "index.sqlite3") as index:
        counts, took = _timed(index.refresh, 20)
        assert index.paths() == ["plain.txt"]
        assert counts["added"] == 1
    assert took < 10


def test_a_pdf_whose_pages_share_one_stream_indexes_quickly(docs, tmp_path):
    pytest.importorskip("pypdf")
    data = shared_stream_pdf()
    assert len(data) < 12 * 1024  # about 10 KiB, 40 pages
    (docs / "bomb.pdf").write_bytes(data)
    with DocumentIndex(docs, tmp_path / "index.sqlite3") as index:
        _, took = _timed(index.refresh, 60)
        doc = index.document("bomb.pdf")
        assert len(doc.page_starts) == 40
        assert "abab" in doc.text
    assert took < 20, f"indexing took {took:.1f} s"


def test_a_pdf_page_past_the_time_budget_is_stopped(docs, tmp_path, monkeypatch):
    pytest.importorskip("pypdf")
    monkeypatch.setattr(documents, "PDF_TIME_S", 0.3)
    monkeypatch.setattr(documents, "PDF_GRACE_S", 1.0)
    (docs / "slow.pdf").write_bytes(shared_stream_pdf(pages=1, ops=200_000))
    with DocumentIndex(docs, tmp_path / "index.sqlite3") as index:
        _, took = _timed(index.refresh, 30)
        problems = dict(index.problems())
        assert "ran longer than 1.3 s" in problems["slow.pdf"]
        assert "plain.txt" in index.paths()  # the rest of the folder is indexed
        (docs / "later.txt").write_text("still working\n")
        index.refresh()  # a fresh helper reads the next PDF or text
        assert "later.txt" in index.paths()
    assert took < 10


def test_one_huge_line_opens_in_linear_time(docs, tmp_path):
    (docs / "long.txt").write_text("a" * (8 * MiB) + "\nend\n")
    with DocumentIndex(docs, tmp_path / "index.sqlite3") as index:
        index.refresh()
        session = BrowserSession(index)
        result, took = _timed(lambda: session.handle("browser.open", {"id": "long.txt"}), 60)
    assert "L0: " + "a" * 80 in result.text
    assert took < 10, f"open took {took:.1f} s"
    lines, sources = wrap("a" * (8 * MiB))
    assert len(lines) == 8 * MiB // 80 + (1 if (8 * MiB) % 80 else 0)
    assert set(sources) == {0}


def test_view_source_does_not_follow_a_document_swapped_for_a_symlink(docs, tmp_path, outside):
    (docs / "sub").mkdir()
    (docs / "sub" / "b.txt").write_text("inner\n")
    with DocumentIndex(docs, tmp_path / "index.sqlite3") as index:
        index.refresh()
        session = BrowserSession(index)
        (docs / "plain.txt").unlink()
        (docs / "plain.txt").symlink_to(outside)
        shown = session.handle("browser.open", {"id": "plain.txt", "view_source": True}).text
        assert SECRET not in shown
        assert "symbolic link" in shown
        # the same with a folder on the way swapped for a link to a folder holding b.txt
        (outside.parent / "b.txt").write_text(f"{SECRET}\n")
        (docs / "sub" / "b.txt").unlink()
        (docs / "sub").rmdir()
        (docs / "sub").symlink_to(outside.parent)
        shown = session.handle("browser.open", {"id": "sub/b.txt", "view_source": True}).text
        assert SECRET not in shown
        index.refresh()  # and re-indexing drops both instead of reading through the links
        assert index.paths() == []
        assert SECRET not in session.handle("browser.search", {"query": "outside"}).text


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="reads /proc/self/io")
def test_view_source_reads_a_bounded_amount_of_a_file_that_grew(docs, tmp_path):
    with DocumentIndex(docs, tmp_path / "index.sqlite3") as index:
        index.refresh()
        session = BrowserSession(index)
        with open(docs / "plain.txt", "r+b") as fh:  # grows to 700 MiB (sparse: no disk used)
            fh.truncate(700 * MiB)

        def rchar() -> int:
            for line in Path("/proc/self/io").read_text().splitlines():
                if line.startswith("rchar:"):
                    return int(line.split()[1])
            raise AssertionError

        before = rchar()
        shown, took = _timed(
            lambda: session.handle("browser.open", {"id": "plain.txt", "view_source": True}), 30
        )
        read = rchar() - before
    assert "Rhubarb" in shown.text
    assert read < 6 * MiB, f"read {read / MiB:.0f} MiB"
    assert took < 10


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_view_source_of_a_document_swapped_for_a_fifo_returns(docs, tmp_path):
    with DocumentIndex(docs, tmp_path / "index.sqlite3") as index:
        index.refresh()
        session = BrowserSession(index)
        (docs / "plain.txt").unlink()
        os.mkfifo(docs / "plain.txt")
        result, took = _timed(
            lambda: session.handle("browser.open", {"id": "plain.txt", "view_source": True}), 10
        )
    assert "named pipe" in result.text
    assert took < 5
