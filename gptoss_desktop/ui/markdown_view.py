"""Markdown for chat messages: prose through QTextDocument, code blocks as their own boxes.

A message's Markdown is split into prose and fenced code blocks (:func:`split_markdown`).
Prose renders with ``QTextDocument.setMarkdown`` (headings, lists, tables, emphasis, links);
each code block gets a box with its language, a Copy button and syntax highlighting.

While a message streams, :meth:`MarkdownView.append_text` adds the new text to the end of
the last box with a text cursor (cost independent of everything before it); Markdown is
re-rendered when a code fence opens or closes and when the message ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QResizeEvent, QTextCursor, QTextDocument, QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.ui.highlighter import CodeHighlighter

#: GitHub Markdown without raw HTML: model output is shown, never interpreted as HTML.
MARKDOWN_FEATURES = (
    QTextDocument.MarkdownFeature.MarkdownDialectGitHub
    | QTextDocument.MarkdownFeature.MarkdownNoHTML
)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)[^\n]*$")


@dataclass(frozen=True)
class Segment:
    kind: str  # "text" or "code"
    text: str
    lang: str = ""
    closed: bool = True


def split_markdown(text: str) -> list[Segment]:
    """Prose and fenced code blocks, in order. An unclosed fence runs to the end (streaming)."""
    segments: list[Segment] = []
    prose: list[str] = []
    code: list[str] = []
    fence: str | None = None
    lang = ""
    for line in text.split("\n"):
        if fence is None:
            m = _FENCE.match(line)
            if m:
                if prose:
                    segments.append(Segment("text", "\n".join(prose)))
                    prose = []
                fence, lang = m.group(1), m.group(2).lower()
                code = []
            else:
                prose.append(line)
        elif line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
            segments.append(Segment("code", "\n".join(code), lang))
            fence = None
        else:
            code.append(line)
    if fence is not None:
        segments.append(Segment("code", "\n".join(code), lang, closed=False))
    elif prose and (any(p.strip() for p in prose) or not segments):
        segments.append(Segment("text", "\n".join(prose)))
    return [s for s in segments if s.kind == "code" or s.text.strip() or len(segments) == 1]


class AutoHeightText(QTextBrowser):
    """A read-only rich text box as tall as its text (no inner scroll bar)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenExternalLinks(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.viewport().setAutoFillBackground(False)
        self.setObjectName("MessageText")  # transparent, borderless: see theme.style_sheet
        self.document().setDocumentMargin(2)
        self.document().contentsChanged.connect(self._fit)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self, *_: object) -> None:
        doc = self.document()
        width = self.viewport().width()
        if width > 0 and doc.textWidth() != width:
            doc.setTextWidth(width)
        height = max(int(doc.size().height()) + 4, 20)
        if height != self.height():
            self.setFixedHeight(height)

    def loadResource(self, kind: int, url: QUrl | str) -> object:
        """Never load images or files a message names (model output is untrusted)."""
        return None

    def set_markdown(self, text: str) -> None:
        self.setMarkdown("")
        self.document().setMarkdown(text, MARKDOWN_FEATURES)

    def append_plain(self, text: str) -> None:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)


class CodeBlock(QFrame):
    """A code block: language label, Copy button, highlighted monospace text."""

    def __init__(self, code: str, lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CodeBlock")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 6)
        layout.setSpacing(2)
        head = QHBoxLayout()
        self.lang_label = QLabel(lang or "code")
        self.lang_label.setObjectName("Muted")
        head.addWidget(self.lang_label)
        head.addStretch(1)
        self.copy_button = QToolButton()
        self.copy_button.setText("Copy")
        self.copy_button.setAccessibleName(f"Copy {lang or 'code'} block")
        self.copy_button.clicked.connect(self.copy)
        head.addWidget(self.copy_button)
        layout.addLayout(head)
        self.editor = QPlainTextEdit()
        self.editor.setReadOnly(True)
        self.editor.setFrameShape(QFrame.Shape.NoFrame)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.editor.setAccessibleName(f"{lang or 'code'} code")
        font = QGuiApplication.font()
        font.setFamily("monospace")
        font.setStyleHint(font.StyleHint.Monospace)
        self.editor.setFont(font)
        self.highlighter = CodeHighlighter(self.editor.document(), lang)
        self.editor.setPlainText(code)
        layout.addWidget(self.editor)
        self.lang = lang
        self.editor.document().blockCountChanged.connect(self._fit)
        self._fit()

    def _fit(self, *_: object) -> None:
        lines = max(self.editor.document().blockCount(), 1)
        line_h = self.editor.fontMetrics().lineSpacing()
        scroll = self.editor.horizontalScrollBar().sizeHint().height()
        self.editor.setFixedHeight(lines * line_h + 12 + scroll)

    @property
    def code(self) -> str:
        return self.editor.toPlainText()

    def append_plain(self, text: str) -> None:
        cursor = QTextCursor(self.editor.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.code)
        self.copy_button.setText("Copied")


class MarkdownView(QWidget):
    """A message body in Markdown: prose boxes and code blocks, streaming-friendly."""

    sig_resized = Signal()

    def __init__(self, text: str = "", parent: QWidget | None = None, *, plain: bool = False):
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self._plain = plain
        self._text = ""
        self._rendered_len = 0
        self.set_markdown(text)

    @property
    def text(self) -> str:
        return self._text

    def widgets(self) -> list[QWidget]:
        out = []
        for i in range(self._layout.count()):
            item = self._layout.itemAt(i)
            w = item.widget() if item is not None else None
            if w is not None:
                out.append(w)
        return out

    def set_markdown(self, text: str) -> None:
        """Render ``text`` completely (at the end of a stream, or for a stored message)."""
        self._text = text
        for w in self.widgets():
            self._layout.removeWidget(w)
            w.deleteLater()
        if self._plain:
            box = AutoHeightText()
            box.setPlainText(text)
            self._layout.addWidget(box)
        else:
            for seg in split_markdown(text) or [Segment("text", "")]:
                self._layout.addWidget(self._make(seg))
        self._rendered_len = len(text)

    def _make(self, seg: Segment) -> QWidget:
        if seg.kind == "code":
            return CodeBlock(seg.text, seg.lang)
        box = AutoHeightText()
        box.set_markdown(seg.text)
        return box

    def append_text(self, text: str) -> None:
        """Add streamed text at the end; re-render only when a code fence starts or ends."""
        if not text:
            return
        line_start = self._text.rfind("\n") + 1
        self._text += text
        if not self._plain and _touches_fence(self._text, line_start):
            self.set_markdown(self._text)
            return
        widgets = self.widgets()
        last = widgets[-1] if widgets else None
        if isinstance(last, AutoHeightText | CodeBlock):
            last.append_plain(text)
        else:
            self.set_markdown(self._text)

    def finish(self) -> None:
        """Render the final Markdown (call when the message is complete)."""
        self.set_markdown(self._text)


def _touches_fence(text: str, start: int) -> bool:
    for line in text[start:].split("\n"):
        if _FENCE.match(line) or line.strip().startswith(("```", "~~~")):
            return True
    return False
