"""The first-run screen: what this machine has, whether gpt-oss-20B fits, how to start.

The machine check (RAM, CPU, llama.cpp backend and GPU) and the fit estimate run off the
main thread (the backend is asked of a short-lived worker), and so does the look for gpt-oss
files other apps already keep (LM Studio, the Hugging Face cache, Ollama). The user can use
such a file where it is, download the recommended model (its progress shows here), import a
.gguf they already have, or try the tiny demo model at once.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.core.units import format_bytes
from gptoss_desktop.resources import APP_TITLE, DEMO_MODEL_LABEL


@dataclass(frozen=True)
class MachineReport:
    """What the first-run screen shows; built off the main thread by :func:`check_machine`."""

    total_ram: int
    available_ram: int
    cpu_count: int
    backend: str
    gpu: str | None
    gpu_free: int
    model_title: str
    download_bytes: int | None
    verdict: str  # fits, tight, will_not_fit, unknown
    fit_message: str
    backend_error: str | None = None


def check_machine(config_dir: Path | None = None, *, probe: bool = True) -> MachineReport:
    """RAM, CPU, backend, GPU and the fit of the recommended catalog model."""
    from gptoss_desktop.core.library.catalog import Catalog
    from gptoss_desktop.core.library.fit import ModelShape, detect_memory, estimate_fit

    backend_info = None
    backend_error = None
    if probe:
        try:
            from gptoss_desktop.core.engine.probe import probe_backend

            backend_info = probe_backend(timeout=30.0)
        except Exception as exc:  # shown on the screen, the rest still works
            backend_error = str(exc)
    memory = detect_memory(backend_info)
    catalog = Catalog.load(config_dir)
    entry = next((e for e in catalog.entries if e.recommended), None)
    verdict, message, title, size = "unknown", "No recommended model in the catalog.", "", None
    if entry is not None:
        title, size = entry.title, entry.size_bytes
        shape = ModelShape.from_catalog(entry)
        if shape is not None:
            fit = estimate_fit(shape, memory, 8192)
            verdict, message = fit.verdict, fit.message
    return MachineReport(
        total_ram=memory.total_ram,
        available_ram=memory.available_ram,
        cpu_count=os.cpu_count() or 1,
        backend=backend_info.backend if backend_info else "unknown",
        gpu=memory.gpu_name,
        gpu_free=memory.gpu_free,
        model_title=title,
        download_bytes=size,
        verdict=verdict,
        fit_message=message,
        backend_error=backend_error,
    )


VERDICT_WORDS = {
    "fits": "✔ Fits on this computer",
    "tight": "⚠ Tight: it should run if you close other apps",
    "will_not_fit": "✖ Will not fit in this computer's memory",
    "unknown": "Fit unknown",
}


STATE_WORDS = {
    "queued": "Waiting to start",
    "running": "Downloading",
    "paused": "Paused",
    "done": "Downloaded and checked",
    "failed": "Failed",
    "cancelled": "Cancelled",
}


class FirstRunPage(QScrollArea):
    sig_download = Signal()
    sig_import = Signal()
    sig_demo = Signal()
    sig_skip = Signal()
    sig_use_found = Signal(object)
    """A found model (core.library.discover.FoundModel) to add by reference and use."""
    sig_cancel_download = Signal()
    sig_start_chat = Signal()

    def __init__(self, has_demo: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Welcome")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        self.setWidget(inner)
        page = QHBoxLayout(inner)
        body = QWidget()
        body.setMaximumWidth(860)
        page.addStretch(1)
        page.addWidget(body, 4)
        page.addStretch(1)
        outer = QVBoxLayout(body)
        outer.setContentsMargins(24, 36, 24, 36)
        outer.setSpacing(14)
        title = QLabel(f"<h1>Welcome to {APP_TITLE}</h1>")
        title.setWordWrap(True)
        outer.addWidget(title)
        intro = QLabel(
            "Run OpenAI's open-weight gpt-oss-20B privately on this computer. Nothing you "
            "write leaves it; the app only goes online when you ask it to download a model."
        )
        intro.setWordWrap(True)
        outer.addWidget(intro)
        self.machine_box = QFrame()
        self.machine_box.setObjectName("Banner")
        self.machine_box.setProperty("kind", "info")
        box = QVBoxLayout(self.machine_box)
        box.setContentsMargins(16, 12, 16, 12)
        self.machine_label = QLabel("Checking this computer…")
        self.machine_label.setWordWrap(True)
        self.machine_label.setTextFormat(Qt.TextFormat.RichText)
        self.machine_label.setAccessibleName("Machine check")
        box.addWidget(self.machine_label)
        outer.addWidget(self.machine_box)
        self.recommend_label = QLabel("")
        self.recommend_label.setWordWrap(True)
        self.recommend_label.setTextFormat(Qt.TextFormat.RichText)
        self.recommend_label.setAccessibleName("Recommended model")
        outer.addWidget(self.recommend_label)
        self.found_box = QFrame()
        self.found_box.setObjectName("Banner")
        self.found_box.setProperty("kind", "info")
        self.found_box.setAccessibleName("gpt-oss found on this computer")
        self.found_layout = QVBoxLayout(self.found_box)
        self.found_layout.setContentsMargins(16, 12, 16, 12)
        self.found_box.hide()
        outer.addWidget(self.found_box)
        self.found_buttons: list[QPushButton] = []
        self.download_box = QFrame()
        self.download_box.setAccessibleName("Download progress")
        dl = QVBoxLayout(self.download_box)
        dl.setContentsMargins(0, 0, 0, 0)
        self.download_label = QLabel("")
        self.download_label.setWordWrap(True)
        dl.addWidget(self.download_label)
        row = QHBoxLayout()
        self.download_bar = QProgressBar()
        self.download_bar.setRange(0, 1000)
        row.addWidget(self.download_bar, 1)
        self.cancel_download_button = QPushButton("Cancel download")
        self.cancel_download_button.clicked.connect(self.sig_cancel_download)
        row.addWidget(self.cancel_download_button)
        self.start_chat_button = QPushButton("Start chatting")
        self.start_chat_button.setObjectName("Primary")
        self.start_chat_button.clicked.connect(self.sig_start_chat)
        self.start_chat_button.hide()
        row.addWidget(self.start_chat_button)
        dl.addLayout(row)
        self.download_box.hide()
        outer.addWidget(self.download_box)
        buttons = QHBoxLayout()
        self.download_button = QPushButton("Download gpt-oss-20B…")
        self.download_button.setObjectName("Primary")
        self.download_button.clicked.connect(self.sig_download)
        self.import_button = QPushButton("Use a .gguf file I already have…")
        self.import_button.clicked.connect(self.sig_import)
        self.demo_button = QPushButton(
            f"Try now with the {DEMO_MODEL_LABEL[0].lower()}{DEMO_MODEL_LABEL[1:]}"
        )
        self.demo_button.setAccessibleName("Try the demo model")
        self.demo_button.clicked.connect(self.sig_demo)
        self.demo_button.setVisible(has_demo)
        for b in (self.download_button, self.import_button, self.demo_button):
            # long labels may wrap the row on a narrow window rather than widen it
            b.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            b.setMinimumWidth(0)
            buttons.addWidget(b)
        buttons.addStretch(1)
        outer.addLayout(buttons)
        demo_note = QLabel(
            "The demo model is tiny and was trained on made-up conversations: it shows how the "
            "app works (reasoning, streaming, history) but its answers mean nothing."
        )
        demo_note.setObjectName("Muted")
        demo_note.setWordWrap(True)
        demo_note.setVisible(has_demo)
        outer.addWidget(demo_note)
        self.skip_button = QPushButton("Skip to the chat")
        self.skip_button.clicked.connect(self.sig_skip)
        outer.addWidget(self.skip_button, 0, Qt.AlignmentFlag.AlignLeft)
        outer.addStretch(1)
        self.report: MachineReport | None = None

    def show_report(self, r: MachineReport) -> None:
        self.report = r
        gpu = html.escape(r.gpu) + f" ({format_bytes(r.gpu_free)} free)" if r.gpu else "none found"
        lines = [
            f"<b>Memory</b>: {format_bytes(r.total_ram)} ({format_bytes(r.available_ram)} free)",
            f"<b>Processor</b>: {r.cpu_count} cores",
            f"<b>Acceleration</b>: llama.cpp {html.escape(r.backend)} backend; GPU: {gpu}",
        ]
        if r.backend_error:
            lines.append(f"<i>Backend check failed: {html.escape(r.backend_error)}</i>")
        self.machine_label.setText("<br>".join(lines))
        size = f"{format_bytes(r.download_bytes)} download" if r.download_bytes else "size unknown"
        self.recommend_label.setText(
            f"<b>Recommended: {html.escape(r.model_title or 'gpt-oss-20B')}</b> ({size})<br>"
            f"{VERDICT_WORDS.get(r.verdict, r.verdict)}<br>"
            f"<span style='color:gray'>{html.escape(r.fit_message)}</span>"
        )

    def show_error(self, message: str) -> None:
        self.machine_label.setText(f"Could not check this computer: {html.escape(message)}")

    # --- models other apps keep ------------------------------------------------------------------
    def show_found(self, discovery: Any) -> None:
        """Offer the usable gpt-oss files found in other apps' folders (a ``Discovery``)."""
        while self.found_layout.count():
            item = self.found_layout.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()
        self.found_buttons = []
        usable = discovery.usable_gpt_oss
        if not usable:
            self.found_box.hide()
            return
        head = QLabel(
            "<b>gpt-oss is already on this computer.</b> Use it where it is: nothing is "
            "copied or downloaded."
        )
        head.setWordWrap(True)
        self.found_layout.addWidget(head)
        for found in usable:
            row = QHBoxLayout()
            text = QLabel(
                f"{html.escape(found.label)}<br><span style='color:gray'>in "
                f"{html.escape(found.source_title)} · {format_bytes(found.size_bytes)}</span>"
            )
            text.setToolTip(found.path)
            text.setWordWrap(True)
            text.setTextFormat(Qt.TextFormat.RichText)
            row.addWidget(text, 1)
            button = QPushButton("Use this file")
            button.setAccessibleName(f"Use {found.label} from {found.source_title}")
            button.clicked.connect(lambda _=False, f=found: self.sig_use_found.emit(f))
            row.addWidget(button)
            self.found_buttons.append(button)
            self.found_layout.addLayout(row)
        self.found_box.show()

    # --- the recommended model's download --------------------------------------------------------
    def show_download(self, s: Any) -> None:
        """Progress of the download started here (a ``TaskSnapshot``)."""
        self.download_box.show()
        word = STATE_WORDS.get(s.state, s.state)
        if s.state == "running" and s.phase in ("checking", "verifying"):
            word = "Checking the download"
        detail = ""
        if s.total_bytes and s.state in ("running", "paused", "queued"):
            detail = f": {format_bytes(s.done_bytes)} of {format_bytes(s.total_bytes)}"
            if s.speed_bps and s.state == "running":
                detail += f" · {s.speed_bps / 1e6:.1f} MB/s"
        if s.state == "failed" and s.error:
            detail = f": {s.error}"
        self.download_label.setText(f"{html.escape(s.title)}: {word}{html.escape(detail)}")
        self.download_bar.setValue(int(1000 * s.fraction) if s.state != "done" else 1000)
        active = s.state in ("queued", "running", "paused")
        self.cancel_download_button.setVisible(active)
        self.download_bar.setVisible(s.state != "failed" and s.state != "cancelled")
        self.start_chat_button.setVisible(s.state == "done")
        self.download_button.setEnabled(not active and s.state != "done")

    def show_download_problem(self, message: str) -> None:
        self.download_box.show()
        self.download_bar.hide()
        self.cancel_download_button.hide()
        self.start_chat_button.hide()
        self.download_label.setText(html.escape(message))
        self.download_button.setEnabled(True)
