"""The model manager: catalog with fit badges, download queue, installed models, HF token.

A view over one :class:`ModelLibrary` (built once by the app, so downloads go on while the
window is closed). Download events come from the queue's worker threads through
:class:`_QueueRelay`, a QObject on the main thread whose signal Qt delivers queued; verify,
import, repo listing, memory detection and keychain calls run on :class:`BackgroundTasks`.
No widget is touched from another thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.core.library import CatalogEntry, MemoryInfo, ModelLibrary, TaskSnapshot
from gptoss_desktop.core.units import format_bytes
from gptoss_desktop.ui.errors import Banner
from gptoss_desktop.ui.workers import BackgroundTasks

FIT_BADGES = {
    "fits": ("✔ Fits", "#2e7d32"),
    "tight": ("⚠ Tight", "#b26a00"),
    "will_not_fit": ("✖ Will not fit", "#c62828"),
}
CONTEXTS = (4096, 8192, 16384, 32768, 65536, 131072)
PHASE_WORDS = {
    "resolving": "Looking up the file…",
    "checking": "Checking what is on disk…",
    "downloading": "Downloading…",
    "verifying": "Verifying…",
}
STATE_WORDS = {
    "queued": "Waiting",
    "running": "Downloading",
    "paused": "Paused",
    "done": "Installed",
    "failed": "Failed",
    "cancelled": "Cancelled",
}


def _size(n: int | None) -> str:
    """File sizes in decimal units, as the hub shows them."""
    if not n:
        return "?"
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def _mem(n: int) -> str:
    return format_bytes(n)  # one unit system: decimal, as the sizes


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(seconds)
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


def _table(headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.verticalHeader().setVisible(False)
    t.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    return t


def _item(text: str, tip: str = "", data: Any = None) -> QTableWidgetItem:
    it = QTableWidgetItem(text)
    if tip:
        it.setToolTip(tip)
    if data is not None:
        it.setData(Qt.ItemDataRole.UserRole, data)
    return it


def _key(table: QTableWidget, row: int) -> Any:
    """What a row stands for (a task id, a model name), kept in its first cell."""
    item = table.item(row, 0)
    return item.data(Qt.ItemDataRole.UserRole) if item is not None else None


class _QueueRelay(QObject):
    """Lives on the main thread; the queue's worker threads emit, Qt delivers queued."""

    sig_task = Signal(object)


class ModelsWindow(QWidget):
    """Catalog, Downloads, Installed and Token tabs over one :class:`ModelLibrary`."""

    sig_installed_changed = Signal()
    """Emitted on the main thread when a model was installed, imported or removed."""

    def __init__(
        self, *, library: ModelLibrary | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setWindowTitle("Models")
        self.setAccessibleName("Model manager")
        self.resize(1040, 620)
        if library is None:
            from gptoss_desktop.core.paths import AppPaths

            library = ModelLibrary.from_paths(AppPaths.from_env().ensure())
        self.library = library
        self.tasks = BackgroundTasks(self)
        self.open_folder: Callable[[Path], object] = lambda p: QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(p))
        )
        self._memory: MemoryInfo | None = None
        self._rows: dict[int, int] = {}  # download task id -> row
        self._states: dict[int, str] = {}  # download task id -> last state

        layout = QVBoxLayout(self)
        self.banner = Banner(self)
        layout.addWidget(self.banner)
        self.tabs = QTabWidget()
        layout.addWidget(self.tabs, 1)
        self.tabs.addTab(self._build_catalog(), "Catalog")
        self.tabs.addTab(self._build_downloads(), "Downloads")
        self.tabs.addTab(self._build_installed(), "Installed")
        self.tabs.addTab(self._build_token(), "Hugging Face token")
        self.status = QLabel("Checking this computer's memory…")
        layout.addWidget(self.status)

        self._relay = _QueueRelay(self)
        self._relay.sig_task.connect(self.on_task)
        self._unsubscribe = library.queue.subscribe(self._relay.sig_task.emit)
        for snap in library.queue.tasks():
            self.on_task(snap)
        self.refresh_catalog()
        self.refresh_installed()
        self.refresh_memory()
        self.refresh_token_status()

    # --- building ---------------------------------------------------------------------------

    def _build_catalog(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        top = QHBoxLayout()
        top.addWidget(QLabel("Fit at a context of"))
        self.ctx_box = QComboBox()
        for c in CONTEXTS:
            self.ctx_box.addItem(f"{c // 1024}k tokens", c)
        self.ctx_box.setCurrentIndex(CONTEXTS.index(8192))
        self.ctx_box.currentIndexChanged.connect(self.refresh_catalog)
        top.addWidget(self.ctx_box)
        top.addStretch(1)
        self.repo_edit = QLineEdit()
        self.repo_edit.setPlaceholderText("owner/repo-GGUF on Hugging Face")
        self.repo_edit.setAccessibleName("Hugging Face repo id")
        # wide enough for the placeholder and a typical id (ggml-org/gpt-oss-20b-GGUF)
        fm = self.repo_edit.fontMetrics()
        self.repo_edit.setMinimumWidth(fm.horizontalAdvance(self.repo_edit.placeholderText()) + 24)
        top.addWidget(self.repo_edit)
        self.add_repo_button = QPushButton("Add repo")
        self.add_repo_button.clicked.connect(self.on_add_repo)
        top.addWidget(self.add_repo_button)
        v.addLayout(top)
        self.catalog_table = _table(
            ["Model", "Family", "Parameters", "Quantization", "Size", "Licence", "Fit", ""]
        )
        v.addWidget(self.catalog_table)
        return page

    def _build_downloads(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        self.downloads_table = _table(["Model", "Progress", "Speed", "Time left", "State"])
        self.downloads_table.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.Stretch
        )
        v.addWidget(self.downloads_table)
        row = QHBoxLayout()
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.cancel_button = QPushButton("Cancel")
        self.pause_button.clicked.connect(lambda: self._on_task_button(self.library.queue.pause))
        self.resume_button.clicked.connect(lambda: self._on_task_button(self.library.queue.resume))
        self.cancel_button.clicked.connect(lambda: self._on_task_button(self.library.queue.cancel))
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.setToolTip(
            "Remove installed, failed and cancelled downloads from the list"
        )
        self.clear_button.clicked.connect(self.clear_finished)
        for b in (self.pause_button, self.resume_button, self.cancel_button, self.clear_button):
            row.addWidget(b)
        row.addStretch(1)
        v.addLayout(row)
        return page

    def _build_installed(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        self.installed_table = _table(["Name", "Size", "Path", "Status"])
        v.addWidget(self.installed_table)
        row = QHBoxLayout()
        self.verify_button = QPushButton("Verify again")
        self.hub_check_button = QPushButton("Check against Hugging Face")
        self.hub_check_button.setToolTip(
            "Hash the file and compare it with the sha256 the hub publishes (needs the network)"
        )
        self.hub_check_button.clicked.connect(self.on_verify_with_hub)
        self.delete_button = QPushButton("Delete")
        self.folder_button = QPushButton("Show in folder")
        self.import_file_button = QPushButton("Import file…")
        self.import_folder_button = QPushButton("Import folder…")
        self.link_check = QCheckBox("Link (leave files where they are)")
        self.verify_button.clicked.connect(self.on_verify)
        self.delete_button.clicked.connect(self.on_delete)
        self.folder_button.clicked.connect(self.on_show_folder)
        self.import_file_button.clicked.connect(lambda: self.on_import_dialog(folder=False))
        self.import_folder_button.clicked.connect(lambda: self.on_import_dialog(folder=True))
        left: tuple[QWidget, ...] = (
            self.verify_button,
            self.hub_check_button,
            self.delete_button,
            self.folder_button,
        )
        right: tuple[QWidget, ...] = (
            self.link_check,
            self.import_file_button,
            self.import_folder_button,
        )
        for w in left:
            row.addWidget(w)
        row.addStretch(1)
        for w in right:
            row.addWidget(w)
        v.addLayout(row)
        found_head = QHBoxLayout()
        self.found_label = QLabel("Models other apps keep on this computer:")
        self.found_label.setWordWrap(True)
        found_head.addWidget(self.found_label, 1)
        self.rescan_button = QPushButton("Look again")
        self.rescan_button.clicked.connect(self.refresh_found)
        self.add_found_button = QPushButton("Use selected (no copy)")
        self.add_found_button.clicked.connect(self.on_add_found)
        found_head.addWidget(self.rescan_button)
        found_head.addWidget(self.add_found_button)
        v.addLayout(found_head)
        self.found_table = _table(["Model", "Found in", "Size", "Can be used"])
        v.addWidget(self.found_table)
        self._found: list[Any] = []
        return page

    def _build_token(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        v.addWidget(
            QLabel(
                "Gated models (Gemma, Llama from Meta…) need a Hugging Face access token. "
                "It is kept in your system's keychain, never in a file."
            )
        )
        row = QHBoxLayout()
        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText("hf_…")
        self.token_edit.setAccessibleName("Hugging Face token")
        row.addWidget(self.token_edit, 1)
        self.token_save = QPushButton("Save token")
        self.token_clear = QPushButton("Forget token")
        self.token_save.clicked.connect(self.on_save_token)
        self.token_clear.clicked.connect(self.on_clear_token)
        row.addWidget(self.token_save)
        row.addWidget(self.token_clear)
        v.addLayout(row)
        self.token_status = QLabel("")
        self.token_status.setWordWrap(True)
        v.addWidget(self.token_status)
        v.addStretch(1)
        return page

    # --- catalog ----------------------------------------------------------------------------

    @property
    def n_ctx(self) -> int:
        return int(self.ctx_box.currentData())

    def refresh_memory(self) -> None:
        self.tasks.submit(self.library.memory, self._on_memory, self._show_error)

    def _on_memory(self, memory: MemoryInfo) -> None:
        self._memory = memory
        gpu = f"; {memory.gpu_name}: {_mem(memory.gpu_free)} free" if memory.gpu_total else ""
        self.status.setText(
            f"This computer: {_mem(memory.available_ram)} of {_mem(memory.total_ram)} "
            f"memory free{gpu}. Nothing is downloaded unless you ask."
        )
        self.refresh_catalog()

    def refresh_catalog(self) -> None:
        t = self.catalog_table
        entries = self.library.catalog.entries
        installed = {
            (m.source.get("repo"), tuple(m.source.get("files") or []))
            for m in self.library.installed.list()
        }
        t.setRowCount(len(entries))
        for r, e in enumerate(entries):
            t.setItem(r, 0, _item(e.title, e.notes or e.repo, e.id))
            t.setItem(r, 1, _item(e.family))
            params = f"{e.params_b:g} B" if e.params_b else "?"
            if e.active_params_b:
                params += f" ({e.active_params_b:g} B active)"
            t.setItem(r, 2, _item(params))
            t.setItem(r, 3, _item(e.quantization))
            t.setItem(r, 4, _item(_size(e.size_bytes)))
            t.setItem(r, 5, _item(e.licence + (" · gated" if e.gated else "")))
            t.setItem(r, 6, self._fit_item(e))
            have = (e.repo, tuple(e.files)) in installed
            button = QPushButton("Installed" if have else "Download")
            button.setEnabled(not have)
            button.setAccessibleName(f"Download {e.title}")
            button.clicked.connect(lambda _=False, entry=e: self.download(entry))
            t.setCellWidget(r, 7, button)
        t.resizeColumnsToContents()

    def _fit_item(self, entry: CatalogEntry) -> QTableWidgetItem:
        if self._memory is None:
            return _item("…")
        fit = self.library.fit(entry, self.n_ctx, self._memory)
        if fit is None:
            return _item("?", "size unknown until the download starts")
        text, color = FIT_BADGES[fit.verdict]
        item = _item(text, fit.message, fit.verdict)
        item.setForeground(QColor(color))
        return item

    def download(self, entry: CatalogEntry) -> TaskSnapshot:
        snap = self.library.queue.add(entry.repo, entry.files[0], entry.revision, entry.title)
        self.tabs.setCurrentIndex(1)
        return snap

    def on_add_repo(self) -> None:
        repo = self.repo_edit.text().strip()
        if not repo:
            return
        self.add_repo_button.setEnabled(False)
        hub, token = self.library.hub, self.library.tokens

        def work() -> list[CatalogEntry]:
            return hub.list_repo_models(repo, token=token.get())

        def done(entries: list[CatalogEntry]) -> None:
            self.add_repo_button.setEnabled(True)
            added = self.library.catalog.add(entries)
            self.repo_edit.clear()
            self.banner.show_message(
                f"{repo}: {len(entries)} GGUF model(s), {len(added)} new in the catalog.",
                kind="info",
            )
            self.refresh_catalog()

        def failed(exc: BaseException) -> None:
            self.add_repo_button.setEnabled(True)
            self._show_error(exc)

        self.tasks.submit(work, done, failed)

    # --- downloads --------------------------------------------------------------------------

    def on_task(self, s: TaskSnapshot) -> None:
        t = self.downloads_table
        row = self._rows.get(s.id)
        if row is None:
            row = t.rowCount()
            t.insertRow(row)
            self._rows[s.id] = row
            t.setItem(row, 0, _item(s.title, f"{s.repo_id}/{s.filename}", s.id))
            new_bar = QProgressBar()
            new_bar.setRange(0, 1000)
            t.setCellWidget(row, 1, new_bar)
        bar = t.cellWidget(row, 1)
        assert isinstance(bar, QProgressBar)
        bar.setValue(int(1000 * s.fraction))
        shard = f" · file {s.file_index} of {s.file_count}" if s.file_count > 1 else ""
        if s.state in ("failed", "cancelled", "done"):
            bar.setFormat(STATE_WORDS[s.state])  # never a stale "resolving"
        else:
            bar.setFormat(
                f"{_size(s.done_bytes)} of {_size(s.total_bytes)}{shard}"
                if s.total_bytes
                else PHASE_WORDS.get(s.phase, s.phase)
            )
        speed = f"{s.speed_bps / 1e6:.1f} MB/s" if s.speed_bps else ""  # decimal, as _size
        t.setItem(row, 2, _item(speed))
        t.setItem(row, 3, _item(_eta(s.eta_s) if s.state == "running" else ""))
        word = STATE_WORDS[s.state]
        if s.state == "running" and s.phase in ("checking", "verifying"):
            word = "Checking" if s.phase == "checking" else "Verifying"
        t.setItem(row, 4, _item(word, s.error or s.note))
        if s.state == "failed":
            hint = (
                " Add it on the “Hugging Face token” tab, then press Resume."
                if s.error_kind == "AuthRequired"
                else ""
            )
            self.banner.show_message(f"{s.title}: {s.error}.{hint}", kind="error")
            self._error_task = s.id
        elif s.state in ("running", "done") and getattr(self, "_error_task", None) == s.id:
            self.banner.hide()  # the error it showed is no longer true
            self._error_task = None
        self._states[s.id] = s.state
        if s.state == "done":
            self.refresh_installed()
            self.refresh_catalog()
            self.sig_installed_changed.emit()

    def clear_finished(self) -> None:
        """Drop the rows of downloads that are over (installed, failed, cancelled)."""
        t = self.downloads_table
        for task_id, row in sorted(self._rows.items(), key=lambda kv: -kv[1]):
            if self._states.get(task_id) in ("done", "failed", "cancelled"):
                t.removeRow(row)
                del self._rows[task_id]
                for other, r in self._rows.items():
                    if r > row:
                        self._rows[other] = r - 1
        self.banner.hide()

    def selected_task(self) -> int | None:
        rows = self.downloads_table.selectionModel().selectedRows()
        if not rows:
            return None
        return int(_key(self.downloads_table, rows[0].row()))

    def _on_task_button(self, action: Callable[[int], None]) -> None:
        task_id = self.selected_task()
        if task_id is not None:
            try:
                action(task_id)
            except Exception as exc:
                self._show_error(exc)

    # --- installed --------------------------------------------------------------------------

    def refresh_installed(self) -> None:
        t = self.installed_table
        models = self.library.installed.list()
        t.setRowCount(len(models))
        for r, m in enumerate(models):
            t.setItem(r, 0, _item(m.name, "", m.name))
            t.setItem(r, 1, _item(_size(m.size_bytes)))
            t.setItem(
                r,
                2,
                _item(str(m.path) + (f" (+{len(m.files) - 1} shards)" if len(m.files) > 1 else "")),
            )
            status = ("linked" if m.linked else "in library") if m.present else "files missing"
            t.setItem(r, 3, _item(status))
        t.resizeColumnsToContents()

    def selected_model(self) -> str | None:
        rows = self.installed_table.selectionModel().selectedRows()
        if not rows:
            return None
        return str(_key(self.installed_table, rows[0].row()))

    def _set_status_cell(self, name: str, text: str) -> None:
        for r in range(self.installed_table.rowCount()):
            if _key(self.installed_table, r) == name:
                self.installed_table.setItem(r, 3, _item(text))

    def on_verify(self) -> None:
        name = self.selected_model()
        if name is None:
            return
        self._set_status_cell(name, "verifying…")
        installed = self.library.installed

        def done(report: Any) -> None:
            text = "verified OK" if report.ok else "FAILED: " + "; ".join(report.problems)
            self._set_status_cell(name, text)
            kind = "info" if report.ok else "error"
            self.banner.show_message(f"{name}: {text}", kind=kind)

        self.tasks.submit(lambda: installed.verify(name), done, self._show_error)

    def on_verify_with_hub(self) -> None:
        name = self.selected_model()
        if name is None:
            return
        self._set_status_cell(name, "checking against Hugging Face…")
        installed, hub, tokens = self.library.installed, self.library.hub, self.library.tokens

        def done(report: Any) -> None:
            text = (
                "matches Hugging Face"
                if report.ok
                else "DIFFERS from Hugging Face: " + "; ".join(report.problems)
            )
            self._set_status_cell(name, text)
            self.banner.show_message(f"{name}: {text}", kind="info" if report.ok else "error")

        self.tasks.submit(
            lambda: installed.verify_with_hub(name, hub, token=tokens.get()),
            done,
            self._show_error,
        )

    # --- models other apps keep ---------------------------------------------------------------

    def refresh_found(self) -> None:
        from gptoss_desktop.core.library.discover import discover

        self.found_label.setText("Looking in LM Studio, the Hugging Face cache and Ollama…")
        self.tasks.submit(discover, self.show_found, self._show_error)

    def show_found(self, discovery: Any) -> None:
        have = {str(Path(f)) for m in self.library.installed.list() for f in m.files}
        self._found = [m for m in discovery.models if m.path not in have]
        t = self.found_table
        t.setRowCount(len(self._found))
        for r, m in enumerate(self._found):
            kind = "gpt-oss" if m.is_gpt_oss else (m.architecture or "unknown")
            t.setItem(r, 0, _item(m.label, m.path, r))
            t.setItem(r, 1, _item(m.source_title, m.where))
            t.setItem(r, 2, _item(_size(m.size_bytes)))
            t.setItem(r, 3, _item(f"yes ({kind})" if m.loadable else f"no: {m.problem}"))
        t.resizeColumnsToContents()
        n = sum(1 for m in self._found if m.is_gpt_oss and m.loadable)
        self.found_label.setText(
            f"Models other apps keep on this computer ({len(self._found)} not yet used here"
            + (f", {n} gpt-oss" if n else "")
            + "). Used where they are: nothing is copied."
        )

    def on_add_found(self) -> None:
        rows = self.found_table.selectionModel().selectedRows()
        if not rows:
            return
        found = self._found[int(_key(self.found_table, rows[0].row()))]
        if not found.loadable:
            self.banner.show_message(f"{found.label} cannot be used: {found.problem}", kind="error")
            return
        self.add_found(found)

    def add_found(self, found: Any) -> None:
        installed = self.library.installed

        def work() -> Any:
            from gptoss_desktop.core.library.discover import add_found

            return add_found(installed, found)

        def done(model: Any) -> None:
            self.banner.show_message(
                f"Added {model.name} from {found.source_title} (left where it is).", kind="info"
            )
            self.refresh_installed()
            self.refresh_found()
            self.sig_installed_changed.emit()

        self.tasks.submit(work, done, self._show_error)

    def show_on_screen(self) -> None:
        """Show within the available screen area (never partly below its edge)."""
        from PySide6.QtGui import QGuiApplication

        parent = self.parentWidget()
        screen = (parent.screen() if parent is not None else None) or (
            QGuiApplication.primaryScreen()
        )
        if screen is not None and not self.isVisible():
            area = screen.availableGeometry()
            hint = self.minimumSizeHint()
            w = max(hint.width(), min(self.width(), area.width() - 40))
            h = max(hint.height(), min(self.height(), area.height() - 60))
            self.resize(w, h)
            frame = self.frameGeometry()
            frame.moveCenter(area.center())
            top = max(area.top(), frame.top())
            self.move(max(area.left(), frame.left()), top)
        self.show()
        if not getattr(self, "_found_once", False):
            self._found_once = True
            self.refresh_found()

    def confirm(self, text: str) -> bool:
        answer = QMessageBox.question(self, "Models", text)
        return answer == QMessageBox.StandardButton.Yes

    def on_delete(self) -> None:
        name = self.selected_model()
        if name is None:
            return
        model = self.library.installed.get(name)
        what = (
            "Remove it from the list (its files stay where they are)?"
            if model.linked
            else "Delete its files?"
        )
        if not self.confirm(f"{name}: {what}"):
            return
        try:
            self.library.installed.remove(name)
        except Exception as exc:
            self._show_error(exc)
        self.refresh_installed()
        self.refresh_catalog()
        self.sig_installed_changed.emit()

    def on_show_folder(self) -> None:
        name = self.selected_model()
        if name is not None:
            self.open_folder(self.library.installed.get(name).path.parent)

    def on_import_dialog(self, *, folder: bool) -> None:
        if folder:
            path = QFileDialog.getExistingDirectory(self, "Import every GGUF model in a folder")
        else:
            path, _ = QFileDialog.getOpenFileName(
                self, "Import a model", "", "GGUF models (*.gguf)"
            )
        if path:
            self.import_path(Path(path), link=self.link_check.isChecked())

    def import_path(self, path: Path, *, link: bool) -> None:
        installed = self.library.installed
        self.banner.show_message(f"Importing {path.name}…", kind="info")

        def done(models: list[Any]) -> None:
            names = ", ".join(m.name for m in models)
            self.banner.show_message(f"Imported {names}.", kind="info")
            self.refresh_installed()
            self.sig_installed_changed.emit()

        self.tasks.submit(lambda: installed.import_path(path, link=link), done, self._show_error)

    # --- token ------------------------------------------------------------------------------

    def refresh_token_status(self) -> None:
        tokens = self.library.tokens
        self.tasks.submit(
            lambda: (tokens.where, tokens.keychain_problem), self._on_token_status, self._show_error
        )

    def _on_token_status(self, result: tuple[str, str | None]) -> None:
        where, problem = result
        words = {
            "keychain": "A token is saved in the system keychain.",
            "session": "A token is kept for this session only (it will be forgotten when the app closes).",
            "environment": "Using the token from the HF_TOKEN environment variable.",
            "none": "No token saved. Public models need none.",
        }[where]
        self.token_status.setText(words + (f" Keychain: {problem}" if problem else ""))

    def on_save_token(self) -> None:
        text = self.token_edit.text()
        self.token_edit.clear()
        tokens = self.library.tokens
        self.tasks.submit(
            lambda: tokens.set(text), lambda _where: self.refresh_token_status(), self._show_error
        )

    def on_clear_token(self) -> None:
        tokens = self.library.tokens
        self.tasks.submit(tokens.clear, lambda _r: self.refresh_token_status(), self._show_error)

    # --- plumbing ---------------------------------------------------------------------------

    def _show_error(self, exc: BaseException) -> None:
        self.banner.show_error(exc)

    def closeEvent(self, event: Any) -> None:
        """Closing hides the window; downloads go on in the library's queue."""
        event.ignore()
        self.hide()

    def dispose(self) -> None:
        """Stop listening to the queue (the app calls this before it closes the library)."""
        self._unsubscribe()
