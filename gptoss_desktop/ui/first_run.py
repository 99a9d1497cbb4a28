"""The first-run screen: what this machine has, whether gpt-oss-20B fits, how to start.

The machine check (RAM, CPU, llama.cpp backend and GPU) and the fit estimate run off the
main thread (the backend is asked of a short-lived worker). The user can download the
recommended model (the models window), import a .gguf they already have, or try the tiny
demo model at once.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gptoss_desktop.resources import DEMO_MODEL_LABEL

GiB = 1024**3


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


class FirstRunPage(QWidget):
    sig_download = Signal()
    sig_import = Signal()
    sig_demo = Signal()
    sig_skip = Signal()

    def __init__(self, has_demo: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Welcome")
        page = QHBoxLayout(self)
        body = QWidget()
        body.setMaximumWidth(860)
        page.addStretch(1)
        page.addWidget(body, 4)
        page.addStretch(1)
        outer = QVBoxLayout(body)
        outer.setContentsMargins(24, 36, 24, 36)
        outer.setSpacing(14)
        title = QLabel("<h1>Welcome to gptoss-desktop</h1>")
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
        gpu = html.escape(r.gpu) + f" ({r.gpu_free / GiB:.1f} GiB free)" if r.gpu else "none found"
        lines = [
            f"<b>Memory</b>: {r.total_ram / GiB:.1f} GiB ({r.available_ram / GiB:.1f} GiB free)",
            f"<b>Processor</b>: {r.cpu_count} cores",
            f"<b>Acceleration</b>: llama.cpp {html.escape(r.backend)} backend; GPU: {gpu}",
        ]
        if r.backend_error:
            lines.append(f"<i>Backend check failed: {html.escape(r.backend_error)}</i>")
        self.machine_label.setText("<br>".join(lines))
        size = f"{r.download_bytes / 1e9:.1f} GB download" if r.download_bytes else "size unknown"
        self.recommend_label.setText(
            f"<b>Recommended: {html.escape(r.model_title or 'gpt-oss-20B')}</b> ({size})<br>"
            f"{VERDICT_WORDS.get(r.verdict, r.verdict)}<br>"
            f"<span style='color:gray'>{html.escape(r.fit_message)}</span>"
        )

    def show_error(self, message: str) -> None:
        self.machine_label.setText(f"Could not check this computer: {html.escape(message)}")
