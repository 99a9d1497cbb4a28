"""The panel's trace: one row per Harmony message, tool call and result, colour-coded by
channel; and the raw view of the exact prompt and completion with control tokens marked."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QScrollArea,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.ui.tools.trace import (
    NOTICE,
    TOOL_CALL,
    TOOL_RESULT,
    USER,
    RawSpan,
    TraceEntry,
    TurnTrace,
)
from gptoss_desktop.ui.tools.trace_export import entry_facts

#: Colour of each channel's stripe and label; readable on light and dark backgrounds.
CHANNEL_COLORS = {
    "analysis": "#8250df",
    "commentary": "#0969da",
    "final": "#1a7f37",
    None: "#6e7781",
}
TOOL_COLOR = "#bc4c00"
NOTICE_COLOR = "#cf222e"
STATUS_COLORS = {
    "awaiting approval": "#9a6700",
    "awaiting your result": "#9a6700",
    "denied": "#cf222e",
    "error": "#cf222e",
}
SPECIAL_STYLE = "background:#ddf4ff;color:#0550ae;font-weight:bold;border-radius:3px"


def entry_color(entry: TraceEntry) -> str:
    if entry.kind == NOTICE:
        return NOTICE_COLOR
    if entry.kind == TOOL_RESULT:
        return TOOL_COLOR
    if entry.kind == USER:
        return CHANNEL_COLORS[None]
    return CHANNEL_COLORS.get(entry.channel, CHANNEL_COLORS[None])


def row_heading(entry: TraceEntry) -> str:
    """Who wrote to whom, in what form, as HTML (the channel is the row's coloured label)."""
    if entry.kind in (USER, NOTICE):
        return ""
    head = html.escape(entry.author)
    if entry.recipient and entry.recipient != "all":
        head += f" → {html.escape(entry.recipient)}"
    if entry.content_type:
        head += f" · {html.escape(plain_content_type(entry.content_type))}"
    return head


def plain_content_type(content_type: str) -> str:
    """``<|constrain|>json`` in words ("JSON arguments"); the raw view keeps the tokens."""
    kind = content_type.replace("<|constrain|>", "").strip()
    if kind.lower() == "json":
        return "JSON arguments"
    return f"{kind} arguments" if kind else "arguments"


class TraceRow(QFrame):
    """One entry: a coloured stripe and label for its channel, a heading with recipient and
    timings, and the text (arguments pretty-printed, tool output in a fixed font)."""

    def __init__(self, entry: TraceEntry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TraceRow")
        self.head = QLabel()
        self.head.setTextFormat(Qt.TextFormat.RichText)
        self.head.setWordWrap(True)
        self.body = QLabel()
        self.body.setTextFormat(Qt.TextFormat.PlainText)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.links = QLabel()
        self.links.setTextFormat(Qt.TextFormat.RichText)
        self.links.setOpenExternalLinks(True)
        self.links.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 8, 6)
        layout.setSpacing(3)
        layout.addWidget(self.head)
        layout.addWidget(self.body)
        layout.addWidget(self.links)
        self.entry = entry
        self.color = ""
        self.update_entry(entry)

    def update_entry(self, entry: TraceEntry) -> None:
        self.entry = entry
        color = entry_color(entry)
        if color != self.color:
            self.color = color
            self.setStyleSheet(
                f"#TraceRow {{ border-left: 4px solid {color}; border-radius: 3px;"
                f" background: palette(alternate-base); }}"
            )
        tag = entry.channel or ("tool" if entry.kind == TOOL_RESULT else entry.kind)
        if entry.kind == TOOL_RESULT:
            tag = "tool result"
        elif entry.kind == TOOL_CALL:
            tag = f"{entry.channel or 'call'} · tool call"
        facts = entry_facts(entry)
        fact_html = " · ".join(self._fact(f) for f in facts)
        self.head.setText(
            f'<span style="color:{color};font-weight:600">{html.escape(tag.upper())}</span>'
            f"&nbsp;&nbsp;{row_heading(entry)}"
            + (f'<br><span style="color:#6e7781">{fact_html}</span>' if facts else "")
        )
        fixed = entry.kind in (TOOL_CALL, TOOL_RESULT)
        font = (
            QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont) if fixed else self.font()
        )
        self.body.setFont(font)
        text = entry.arguments if entry.kind == TOOL_CALL and entry.arguments else entry.text
        if entry.kind == TOOL_CALL and entry.ran_with:
            text = f"{text}\n\nran with your edit:\n{entry.ran_with}"
        self.body.setText(text[:20000] if text else "…")
        self.links.setVisible(bool(entry.links))
        if entry.links:
            self.links.setText(
                "Cites: "
                + ", ".join(
                    f'<a href="{html.escape(url)}">{html.escape(label)}</a>'
                    for label, url in entry.links
                )
            )

    @staticmethod
    def _fact(fact: str) -> str:
        if fact.startswith("UNTRUSTED"):
            return (
                '<span style="background:#fff1e5;color:#bc4c00;font-weight:600;'
                f'padding:0 3px">{html.escape(fact)}</span>'
            )
        color = STATUS_COLORS.get(fact)
        if color:
            return f'<span style="color:{color};font-weight:600">{html.escape(fact)}</span>'
        return html.escape(fact)


class TraceView(QScrollArea):
    """Every entry of the current turn; redraws only rows whose entry changed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        inner = QWidget()
        self._layout = QVBoxLayout(inner)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self._layout.setSpacing(6)
        self._layout.addStretch(1)
        self.setWidget(inner)
        self.rows: list[TraceRow] = []
        self._started_at = -1.0

    def show_trace(self, trace: TurnTrace) -> None:
        if trace.started_at != self._started_at:  # a new turn: start over
            for row in self.rows:
                row.setParent(None)
                row.deleteLater()
            self.rows = []
            self._started_at = trace.started_at
        at_bottom = self._at_bottom()
        for index, entry in enumerate(trace.entries):
            if index < len(self.rows):
                if self.rows[index].entry.version != entry.version:
                    self.rows[index].update_entry(entry)
            else:
                row = TraceRow(entry)
                self._layout.insertWidget(self._layout.count() - 1, row)
                self.rows.append(row)
        if at_bottom:
            bar = self.verticalScrollBar()
            bar.setValue(bar.maximum())

    def _at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - 24


def spans_html(spans: list[RawSpan]) -> str:
    out = []
    for span in spans:
        text = html.escape(span.text)
        out.append(f'<span style="{SPECIAL_STYLE}">{text}</span>' if span.special else text)
    return "".join(out)


def raw_html(trace: TurnTrace) -> str:
    """Each generation's exact prompt and completion; control tokens highlighted."""
    if not trace.generations:
        return "<p>No generation yet in this turn.</p>"
    parts = []
    for number, g in enumerate(trace.generations, 1):
        parts.append(
            f"<h4>Generation {number} · prompt {g.prompt_tokens} tokens "
            f"({g.cached_tokens} already cached) · completion {g.completion_tokens} tokens</h4>"
        )
        parts.append(f"<pre style='white-space:pre-wrap'>{spans_html(g.prompt)}")
        parts.append(f"<span style='background:#dafbe1'>{spans_html(g.completion)}</span></pre>")
    return "".join(parts)


class RawView(QTextBrowser):
    """The exact text the model was given (prompt) and wrote (completion, on green)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._shown: tuple[float, int, int] | None = None

    def show_trace(self, trace: TurnTrace) -> None:
        key = (trace.started_at, len(trace.generations), trace.stop_reason is None)
        if key != self._shown:
            self._shown = key
            self.setHtml(raw_html(trace))
