"""The main window: chat list, transcript, composer, model picker, settings dock.

It builds the views and connects them to the :class:`ChatController` (turns), the
:class:`EngineManager` (models) and the store (chats), and otherwise delegates. The right
dock area is free for the Harmony tool panel (``add_side_panel``); compare mode, when its
package is present, is a second page of the central stack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QMainWindow,
    QMenu,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.core.paths import AppPaths
from gptoss_desktop.core.store.store import Store
from gptoss_desktop.resources import APP_TITLE, Resources
from gptoss_desktop.ui.app_settings import AppSettings, SettingsFile
from gptoss_desktop.ui.chat_controller import ChatController
from gptoss_desktop.ui.chat_view import ChatView
from gptoss_desktop.ui.composer import Composer
from gptoss_desktop.ui.context_meter import ContextMeter
from gptoss_desktop.ui.engine_manager import EngineManager
from gptoss_desktop.ui.errors import Banner
from gptoss_desktop.ui.first_run import FirstRunPage
from gptoss_desktop.ui.library_actions import LibraryActions, LibraryParts
from gptoss_desktop.ui.model_picker import ModelPicker
from gptoss_desktop.ui.settings_panel import SettingsPanel
from gptoss_desktop.ui.sidebar import Sidebar
from gptoss_desktop.ui.theme import ThemeController
from gptoss_desktop.ui.workers import BackgroundTasks


class MainWindow(QMainWindow):
    def __init__(
        self,
        store: Store,
        paths: AppPaths,
        settings_file: SettingsFile,
        app_settings: AppSettings,
        theme: ThemeController,
        resources: Resources,
        *,
        worker_env: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self._pending_send: str | None = None  # typed before the picked model had loaded
        self.store, self.paths, self.resources = store, paths, resources
        self.settings_file, self.theme = settings_file, theme
        self.setWindowTitle(APP_TITLE)
        self.setObjectName("MainWindow")
        self.resize(1200, 800)
        icon = resources.path("icons", "gptoss-desktop.svg")  # vector: sharp at any DPI
        if icon.is_file():
            self.setWindowIcon(QIcon(str(icon)))
        self.tasks = BackgroundTasks(self)
        self.engines = EngineManager(
            self.tasks,
            n_threads=app_settings.n_threads,
            n_gpu_layers=app_settings.n_gpu_layers,
            n_cpu_moe=app_settings.n_cpu_moe,
            kv_cache_type=app_settings.kv_cache_type,
            demo_path=resources.demo_model,
            worker_env=worker_env,
            parent=self,
        )
        self._build()
        self.chat = ChatController(store, self.engines, self.tasks, self.chat_view, self)
        self.library = LibraryActions(
            LibraryParts(
                self, store, paths, resources, settings_file, theme, self.tasks, self.banner,
                self.sidebar, self.chat, self.engines, self.model_picker, self.settings_panel,
                self.first_run, self.stack, self.side_docks, self.finish_first_run,
            ),
            app_settings,
        )  # fmt: skip
        self._connect()
        from gptoss_desktop.ui.api_panel import attach_to as attach_local_api

        #: The "Local API" switch and server (ui/api_panel.py): off unless the user turned it on.
        self.local_api = attach_local_api(self)
        self._menus()
        # The Harmony tool panel, docked beside the chat right after the first paint (its
        # imports are the heaviest of the window); reading ``tools`` attaches it at once.
        self._tools: Any = None
        QTimer.singleShot(150, self, lambda: self.tools)
        QTimer.singleShot(400, self.chat_view, self.chat_view.warm_up)
        self.library.refresh_chats()
        # The model list scans folders and imports the library: after the first paint.
        QTimer.singleShot(300, self.library, self.library.refresh_models)
        if store.recovered_messages:
            self.banner.show_message(
                f"{store.recovered_messages} message(s) were being written when the app last "
                "closed unexpectedly; what was saved is kept and marked as interrupted.",
                kind="info",
            )
        if settings_file.problem:
            self.banner.show_message(settings_file.problem, kind="warning")
        if app_settings.first_run_done:
            self.show_chat()
            self.library.restore_session()
        else:
            self.show_first_run()
        self._update_send()

    # --- building -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.stack = QStackedWidget()
        self.setCentralWidget(self.stack)
        self.first_run = FirstRunPage(self.resources.demo_model is not None)
        self.stack.addWidget(self.first_run)
        page = QWidget()
        row = QHBoxLayout(page)
        row.setContentsMargins(0, 0, 0, 0)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        row.addWidget(self.splitter)
        self.sidebar = Sidebar()
        self.splitter.addWidget(self.sidebar)
        column = QWidget()
        col = QVBoxLayout(column)
        col.setContentsMargins(12, 8, 12, 0)
        col.setSpacing(6)
        self.model_picker = ModelPicker()
        col.addWidget(self.model_picker)
        col.addWidget(self.model_picker.demo_badge)
        self.banner = Banner()
        col.addWidget(self.banner)
        self.chat_view = ChatView()
        col.addWidget(self.chat_view, 1)
        self.composer = Composer()
        col.addWidget(self.composer)
        self.context_meter = ContextMeter()
        self.composer.footer.addWidget(self.context_meter)
        self.splitter.addWidget(column)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 900])
        self.stack.addWidget(page)
        self.chat_page = page
        self.settings_panel = SettingsPanel()
        self.settings_dock = QDockWidget("Chat settings", self)
        self.settings_dock.setObjectName("SettingsDock")
        self.settings_dock.setWidget(self.settings_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.settings_dock)
        self.side_docks: list[QDockWidget] = [self.settings_dock]

    @property
    def app_settings(self) -> AppSettings:
        return self.library.app_settings

    @property
    def compare_page(self) -> Any:
        """The compare page once shown (None before)."""
        return self.library.compare_page

    @property
    def tools(self) -> Any:
        """The tool panel's controller (ui/tools), attached on first use."""
        if self._tools is None:
            from gptoss_desktop.ui.tools import attach_to

            self._tools = attach_to(self)
        return self._tools

    def add_side_panel(self, widget: QWidget, title: str) -> QDockWidget:
        """Dock a panel beside the chat (the Harmony tool panel goes here), tabbed with settings."""
        dock = QDockWidget(title, self)
        dock.setObjectName(title.replace(" ", ""))
        dock.setWidget(widget)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.tabifyDockWidget(self.settings_dock, dock)
        self.settings_dock.raise_()
        self.side_docks.append(dock)
        self.fit_side_panels()
        if self.stack.currentWidget() is self.first_run:
            dock.hide()
        return dock

    def fit_side_panels(self) -> None:
        """The side panels take about a third of the window (at least 260 px, at most 380),
        leaving the chat the most room; the user can drag the edge."""
        width = max(260, min(380, self.width() // 3))
        self.resizeDocks([self.settings_dock], [width], Qt.Orientation.Horizontal)

    def _connect(self) -> None:
        c, lib = self.chat, self.library
        self.composer.sig_send.connect(self.send)
        self.composer.sig_stop.connect(c.stop)
        c.sig_busy.connect(self.composer.set_generating)
        c.sig_error.connect(self.banner.show_error)
        c.sig_context.connect(self._on_context)
        c.sig_context_full.connect(lib.offer_context_choices)
        c.sig_conversation.connect(self._on_conversation)
        c.sig_chats_changed.connect(lib.refresh_chats)
        self.banner.sig_action.connect(lib.on_banner_action)
        self.sidebar.sig_new.connect(self.new_chat)
        self.sidebar.sig_open.connect(c.open)
        self.sidebar.sig_open_hit.connect(lib.open_hit)
        self.sidebar.sig_search.connect(lib.search)
        self.sidebar.sig_rename.connect(lib.rename_chat)
        self.sidebar.sig_pin.connect(lib.pin_chat)
        self.sidebar.sig_delete.connect(lib.delete_chat)
        self.sidebar.sig_export.connect(lib.ask_export)
        self.sidebar.sig_import.connect(lib.ask_import_chat)
        self.settings_panel.sig_changed.connect(c.update_settings)
        self.settings_panel.sig_reload_context.connect(lib.reload_with_context)
        self.model_picker.sig_load.connect(lib.load_model)
        self.model_picker.combo.currentIndexChanged.connect(lambda _i: self._update_send())
        self.model_picker.sig_picked.connect(self._update_send)
        self.model_picker.sig_import.connect(lib.ask_import_model)
        self.model_picker.sig_manage.connect(lib.open_models_window)
        self.engines.sig_state.connect(self._on_model_state)
        self.engines.sig_progress.connect(self.model_picker.set_progress)
        self.model_picker.sig_cancel_load.connect(self.engines.cancel_load)
        self.settings_panel.sig_cpu_moe.connect(self._on_cpu_moe)
        self.settings_panel.set_kv_cache_type(self.engines.kv_cache_type)
        self.settings_panel.sig_kv_cache.connect(self._on_kv_cache)
        self.engines.sig_load_failed.connect(lambda _p, exc: self.banner.show_error(exc))
        self.first_run.sig_demo.connect(lib.start_with_demo)
        self.first_run.sig_import.connect(lib.ask_import_model)
        self.first_run.sig_download.connect(lib.download_recommended)
        self.first_run.sig_use_found.connect(lib.use_found)
        self.first_run.sig_cancel_download.connect(lib.cancel_welcome_download)
        self.first_run.sig_start_chat.connect(lib.start_with_download)
        self.first_run.sig_skip.connect(lambda: self.finish_first_run())
        self.theme.sig_changed.connect(lambda _c: self.chat_view.update())

    def _menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "New chat", QKeySequence.StandardKey.New, self.new_chat)
        self._action(file, "Import chat (JSON)…", None, self.library.ask_import_chat)
        self._action(file, "Add model file (.gguf)…", "Ctrl+O", self.library.ask_import_model)
        self._action(
            file,
            "Export chat as Markdown…",
            None,
            lambda: self.library.ask_export(None, "markdown"),
        )
        self._action(
            file, "Export chat as JSON…", "Ctrl+E", lambda: self.library.ask_export(None, "json")
        )
        file.addSeparator()
        self._action(file, "Quit", QKeySequence.StandardKey.Quit, self.close)
        chat = bar.addMenu("&Chat")
        self._action(chat, "Search all chats", QKeySequence.StandardKey.Find, self.focus_search)
        self._action(chat, "Focus the message box", "Ctrl+L", self.composer.focus)
        self.stop_action = self._action(chat, "Stop generating", "Esc", self.chat.stop)
        view = bar.addMenu("&View")
        view.addAction(self.settings_dock.toggleViewAction())
        view.addAction(self.local_api.dock.toggleViewAction())
        self._action(view, "Compare models", "Ctrl+Shift+C", self.library.show_compare)
        self._action(view, "Chat", "Ctrl+Shift+H", self.show_chat)
        theme = view.addMenu("Theme")
        for choice in ("system", "light", "dark"):
            self._action(theme, choice.capitalize(), None, partial(self.library.set_theme, choice))
        models = bar.addMenu("&Models")
        self._action(
            models, "Manage and download models…", "Ctrl+M", self.library.open_models_window
        )

    def _action(
        self,
        menu: QMenu,
        text: str,
        shortcut: QKeySequence.StandardKey | str | None,
        slot: Callable[[], object],
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        return action

    # --- what the window does ---------------------------------------------------------------------
    def send(self, text: str) -> None:
        """Send; when the picked model is not loaded yet, load it first, then send."""
        self.settings_panel.flush()
        path = self.model_picker.current_path()
        if self.engines.current is None and path is not None and text.strip():
            self._pending_send = text
            self.composer.edit.setPlainText(text)  # kept until it is really sent
            if self.engines.loading is None:
                self.library.load_model(path)
            self.banner.show_message(
                f"Loading {self.model_picker.combo.currentText()}; your message goes as soon "
                "as it is ready.",
                kind="info",
            )
            self._update_send()
            return
        if not self.chat.send(text):
            self.composer.edit.setPlainText(text)

    def _update_send(self) -> None:
        """Send is ready when a model is loaded, or picked (Send then loads it first)."""
        if self.engines.current is not None:
            self.composer.set_ready(True)
        elif self._pending_send is not None or self.engines.loading is not None:
            self.composer.set_ready(False, "Loading the model…")
        elif self.model_picker.current_path() is not None:
            name = self.model_picker.combo.currentText()
            self.composer.set_ready(True, f"Loads {name}, then sends")
        else:
            self.composer.set_ready(False, "Add or download a model first (Models…)")

    def new_chat(self) -> None:
        self.settings_panel.flush()
        self.chat.new_chat(self.settings_panel.settings())
        self.sidebar.set_current(None)
        self.show_chat()
        self.composer.focus()

    def focus_search(self) -> None:
        self.show_chat()
        self.sidebar.search.setFocus()
        self.sidebar.search.selectAll()

    def show_chat(self) -> None:
        returning = self.stack.currentWidget() is not self.chat_page
        self.stack.setCurrentWidget(self.chat_page)
        if returning:
            for dock in self.side_docks:
                dock.show()
            self.settings_dock.raise_()

    def show_first_run(self) -> None:
        self.stack.setCurrentWidget(self.first_run)
        for dock in self.side_docks:
            dock.hide()
        self.library.check_machine()

    def finish_first_run(self) -> None:
        self.library.save_settings(first_run_done=True)
        self.show_chat()

    def _on_conversation(self, conversation: object) -> None:
        from gptoss_desktop.core.store.records import Conversation

        if isinstance(conversation, Conversation):
            self.sidebar.set_current(conversation.id)
            self.settings_panel.set_settings(conversation.settings)
            self.set_title(conversation.title)
            self.library.save_settings(last_chat_id=conversation.id)
        else:
            self.set_title(None)

    def set_title(self, chat_title: str | None) -> None:
        self.setWindowTitle(f"{chat_title} · {APP_TITLE}" if chat_title else APP_TITLE)

    def _on_context(self, used: int, n_ctx: int) -> None:
        if self.context_meter.set_usage(used, n_ctx) != "ok" and not self.chat.busy:
            # In its own turn of the event loop: building the banner is not free.
            QTimer.singleShot(0, self, lambda: self.library.warn_context(used, n_ctx))

    def _on_model_state(self, path: str, state: str, detail: str) -> None:
        self.model_picker.set_state(path, state, detail)
        pending, loaded = self._pending_send, self.engines.current is not None
        if state in ("failed", "loaded"):
            self._pending_send = None
        self._update_send()
        if state == "loaded" and pending is not None and loaded:
            self.banner.hide()
            self.composer.edit.clear()
            QTimer.singleShot(0, self, lambda: self.send(pending))
        if state == "loaded" and self.engines.current is not None:
            info = self.engines.current.info
            self.settings_panel.set_model_limit(info.n_ctx, info.n_ctx_train or None)
            self.library.save_settings(last_model=path)
            self.chat._emit_context(self.context_meter.used)
            model = self.engines.current
            if model.shape is not None:
                self.settings_panel.set_memory_plan(
                    model.shape, model.info.n_ctx, self.engines.n_cpu_moe, model.has_gpu
                )

    def _on_cpu_moe(self, n: int) -> None:
        """The experts slider: used by the next load, remembered in the app settings."""
        self.engines.n_cpu_moe = n
        self.library.save_settings(n_cpu_moe=n)
        page = self.library.compare_page
        if page is not None:  # compare columns of mixture-of-experts models use it too
            page.settings = replace(page.settings, n_cpu_moe=n or None)

    def _on_kv_cache(self, kind: str) -> None:
        """The KV cache choice: used by the next load, remembered in the app settings."""
        self.engines.kv_cache_type = kind
        self.library.save_settings(kv_cache_type=kind)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Say that it is closing, stop a generation cleanly, stop the workers, then close."""
        from PySide6.QtGui import QGuiApplication

        self.banner.show_message("Closing: stopping the model and saving…", kind="info")
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        self.repaint()
        QApplication.processEvents()  # the notice is painted before the wait
        try:
            self._shutdown()
        finally:
            QGuiApplication.restoreOverrideCursor()
        super().closeEvent(event)

    def _shutdown(self) -> None:
        self.chat.shutdown(timeout=10.0)
        self.local_api.shutdown()
        if self.compare_page is not None:
            self.compare_page.shutdown(timeout=10.0)
        self.engines.close()
        self.tasks.wait(10_000)
        self.library.close()


def model_folders(paths: AppPaths) -> list[Path]:
    return [paths.models_dir]
