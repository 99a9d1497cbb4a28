"""After a turn: one small bar chart per figure, a bar per column (QPainter, no chart library)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from gptoss_desktop.core.compare.metrics import ColumnMetrics, format_bytes

COLUMN_COLORS = ("#2563eb", "#db6d28", "#1a7f37", "#8250df")


@dataclass(frozen=True)
class Figure:
    title: str
    value: Callable[[ColumnMetrics], float | None]
    text: Callable[[float], str]
    better: str | None = "higher"  # "higher", "lower", or None (no best: just for reference)

    @property
    def hint(self) -> str:
        return f"{self.better} is better" if self.better else "answer length"


FIGURES: tuple[Figure, ...] = (
    Figure("Time to first token", lambda m: m.ttft_s, lambda v: f"{v * 1000:,.0f} ms", "lower"),
    Figure("Generation speed", lambda m: m.tokens_per_s, lambda v: f"{v:,.1f} tok/s"),
    Figure("Prompt speed", lambda m: m.prompt_tokens_per_s, lambda v: f"{v:,.0f} tok/s"),
    Figure(
        "Tokens written",
        lambda m: float(m.tokens) if m.tokens else None,
        lambda v: f"{v:,.0f}",
        None,
    ),
    Figure(
        "Peak memory",
        lambda m: float(m.peak_rss_bytes) if m.peak_rss_bytes else None,
        format_bytes,
        "lower",
    ),
)


class MetricsChart(QWidget):
    """Figures side by side; the best bar of each figure is marked with ★."""

    BAR_H = 16
    GAP = 6

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Speed and memory chart")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.labels: list[str] = []
        self.metrics: list[ColumnMetrics] = []
        self.blind = False  # memory is left out until the vote (it would name the model)

    def set_data(self, labels: Sequence[str], metrics: Sequence[ColumnMetrics]) -> None:
        self.labels, self.metrics = list(labels), list(metrics)
        self.updateGeometry()
        self.update()

    def rows(self) -> list[tuple[str, list[float | None], int | None]]:
        """(figure title, value per column, index of the best column) for each figure."""
        out: list[tuple[str, list[float | None], int | None]] = []
        for fig in FIGURES:
            values = [fig.value(m) for m in self.metrics]
            if self.blind and fig.title == "Peak memory":
                values = [None for _ in values]
            known = [(v, i) for i, v in enumerate(values) if v is not None]
            best = None
            if len(known) > 1 and fig.better is not None:
                top = (min(known) if fig.better == "lower" else max(known))[0]
                winners = [i for v, i in known if v == top]
                best = winners[0] if len(winners) == 1 else None  # no star for a tie
            out.append((fig.title, values, best))
        return out

    def sizeHint(self) -> QSize:
        n = max(1, len(self.metrics))
        return QSize(720, 34 + n * (self.BAR_H + self.GAP) + 24)

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.metrics:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text_color = pal.color(QPalette.ColorRole.WindowText)
        muted = QColor(text_color)
        muted.setAlpha(150)
        rows = self.rows()
        width = self.width() / len(FIGURES)
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        for f, (fig, (title, values, best)) in enumerate(zip(FIGURES, rows, strict=True)):
            x0 = f * width + 8
            w = width - 16
            painter.setPen(text_color)
            bold = QFont(self.font())
            bold.setBold(True)
            painter.setFont(bold)
            painter.drawText(QRectF(x0, 4, w, 18), Qt.AlignmentFlag.AlignLeft, title)
            painter.setFont(small)
            painter.setPen(muted)
            painter.drawText(QRectF(x0, 20, w, 14), Qt.AlignmentFlag.AlignLeft, fig.hint)
            top = max((v for v in values if v is not None), default=0.0) or 1.0
            for i, value in enumerate(values):
                y = 38 + i * (self.BAR_H + self.GAP)
                color = QColor(COLUMN_COLORS[i % len(COLUMN_COLORS)])
                label_w = w * 0.45
                bar_w = (w * 0.55) * (value / top if value else 0.0)
                painter.fillRect(QRectF(x0, y, max(bar_w, 1.5), self.BAR_H), color)
                painter.setPen(text_color)
                text = fig.text(value) if value is not None else "n/a"
                if best == i:
                    text = "★ " + text
                painter.drawText(
                    QRectF(x0 + w * 0.55 + 4, y, label_w, self.BAR_H),
                    int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                    text,
                )
        # legend
        painter.setFont(small)
        y = 38 + len(self.metrics) * (self.BAR_H + self.GAP)
        x = 8.0
        for i, label in enumerate(self.labels):
            painter.fillRect(
                QRectF(x, y + 3, 10, 10), QColor(COLUMN_COLORS[i % len(COLUMN_COLORS)])
            )
            painter.setPen(text_color)
            painter.drawText(QRectF(x + 14, y, 220, 16), Qt.AlignmentFlag.AlignLeft, label)
            x += 24 + painter.fontMetrics().horizontalAdvance(label)
        painter.end()
