"""The window's actions on its libraries: chats (list, search, rename, pin, delete with undo,
export, import) and models (list, load, import, the models window), plus theme, settings,
the first-run check and the choices offered when a chat would not fit.

Database and file work runs on the window's background tasks; results come back here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from gptoss_desktop.core.errors import ContextOverflow, GptossError
from gptoss_desktop.core.store.records import SearchHit
from gptoss_desktop.ui.model_picker import find_models
from gptoss_desktop.ui.sidebar import MARK

if TYPE_CHECKING:
    from PySide6.QtWidgets import QDockWidget, QStackedWidget, QWidget

    from gptoss_desktop.core.paths import AppPaths
    from gptoss_desktop.core.store.store import Store
    from gptoss_desktop.resources import Resources
    from gptoss_desktop.ui.app_settings import AppSettings, SettingsFile
    from gptoss_desktop.ui.chat_controller import ChatController
    from gptoss_desktop.ui.engine_manager import EngineManager
    from gptoss_desktop.ui.errors import Banner
    from gptoss_desktop.ui.first_run import FirstRunPage
    from gptoss_desktop.ui.model_picker import ModelPicker
    from gptoss_desktop.ui.settings_panel import SettingsPanel
    from gptoss_desktop.ui.sidebar import Sidebar
    from gptoss_desktop.ui.theme import ThemeController
    from gptoss_desktop.ui.workers import BackgroundTasks

CONTEXT_ACTIONS = [
    ("drop", "Leave out oldest turns"),
    ("continue", "New chat from here"),
    ("larger", "Larger context"),
]


@dataclass
class LibraryParts:
    """What LibraryActions works with: the window's parts, not the window."""

    parent: QWidget  # dialogs and the models window open over it
    store: Store
    paths: AppPaths
    resources: Resources
    settings_file: SettingsFile
    theme: ThemeController
    tasks: BackgroundTasks
    banner: Banner
    sidebar: Sidebar
    chat: ChatController
    engines: EngineManager
    model_picker: ModelPicker
    settings_panel: SettingsPanel
    first_run: FirstRunPage
    stack: QStackedWidget
    side_docks: list[QDockWidget]
    finish_first_run: Callable[[], None]


class LibraryActions(QObject):
    def __init__(self, parts: LibraryParts, app_settings: AppSettings) -> None:
        super().__init__(parts.parent)
        self.p = parts
        #: After a restart: offers the last model once the model list is filled.
        self._offer_last: Callable[[], None] | None = None
        #: The app's settings (saved through here); the window reads them here.
        self.app_settings = app_settings
        #: The compare page, made on first use.
        self.compare_page: Any = None
        self._deleted: int | None = None
        self._warned: set[int] = set()
        self._retry_after_load = False
        parts.engines.sig_state.connect(self._after_load)

    @property
    def store(self) -> Any:
        return self.p.store

    def _run(self, fn: Any, done: Any = None) -> None:
        self.p.tasks.submit(fn, done, self.p.banner.show_error)

    # --- settings and theme ----------------------------------------------------------------------
    def save_settings(self, **changes: Any) -> None:
        new = replace(self.app_settings, **changes)
        if new != self.app_settings:
            self.app_settings = new
            self._run(lambda: self.p.settings_file.save_latest(lambda: self.app_settings))

    def set_theme(self, choice: str) -> None:
        self.p.theme.apply(choice)
        self.save_settings(theme=choice)

    # --- chats -----------------------------------------------------------------------------------
    def refresh_chats(self) -> None:
        self._run(lambda: self.store.conversations.list_live(), self.p.sidebar.set_conversations)

    def search(self, text: str) -> None:
        if text:
            self._run(
                lambda: self.store.search(text, limit=60, mark=MARK),
                lambda hits: self.p.sidebar.show_results(text, hits),
            )

    def open_hit(self, hit: SearchHit) -> None:
        if hit.message_id is None:
            self.p.chat.open(hit.conversation_id)
        else:
            self.p.chat.open_message(hit.conversation_id, hit.message_id)

    def rename_chat(self, chat_id: int, title: str) -> None:
        def done(chat: Any) -> None:
            self.refresh_chats()
            current = self.p.chat.conversation
            if current is not None and current.id == chat_id:
                renamed = replace(current, title=chat.title)
                self.p.chat.conversation = renamed
                self.p.chat.sig_conversation.emit(renamed)  # the window retitles itself

        self._run(lambda: self.store.conversations.rename(chat_id, title), done)

    def pin_chat(self, chat_id: int, pinned: bool) -> None:
        self._run(
            lambda: self.store.conversations.set_pinned(chat_id, pinned),
            lambda _c: self.refresh_chats(),
        )

    def delete_chat(self, chat_id: int) -> None:
        def done(chat: Any) -> None:
            self._deleted = chat_id
            if self.p.chat.conversation is not None and self.p.chat.conversation.id == chat_id:
                self.p.chat.new_chat()
            self.refresh_chats()
            self.p.banner.show_message(
                f"Deleted “{chat.title}”.", kind="info", actions=[("undo_delete", "Undo")]
            )

        if not (
            self.p.chat.busy and self.p.chat.conversation and self.p.chat.conversation.id == chat_id
        ):
            self._run(lambda: self.store.conversations.delete(chat_id), done)

    def undo_delete(self) -> None:
        chat_id, self._deleted = self._deleted, None
        if chat_id is not None:
            self._run(
                lambda: self.store.conversations.restore(chat_id), lambda _c: self.refresh_chats()
            )
            self.p.banner.hide()

    def ask_export(self, chat_id: int | None, fmt: str) -> None:
        chat_id = chat_id or (self.p.chat.conversation.id if self.p.chat.conversation else None)
        if chat_id is None:
            return
        suffix = "md" if fmt == "markdown" else "json"
        path, _ = QFileDialog.getSaveFileName(
            self.p.parent, "Export chat", str(self.export_suggestion(chat_id, fmt)), f"*.{suffix}"
        )
        if path:
            self.export_chat(chat_id, fmt, Path(path))

    def export_suggestion(self, chat_id: int, fmt: str) -> Path:
        """The chat's title as a file name, in the user's Documents folder."""
        from PySide6.QtCore import QStandardPaths

        suffix = "md" if fmt == "markdown" else "json"
        try:
            title = self.store.conversations.get(chat_id).title
        except Exception:  # a deleted chat: a plain name still works
            title = "chat"
        name = "".join(c if c.isalnum() or c in " -_.,()" else " " for c in title)
        name = " ".join(name.split()).strip(" .")[:80] or "chat"
        docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        folder = Path(docs) if docs and Path(docs).is_dir() else Path.home()
        return folder / f"{name}.{suffix}"

    def export_chat(self, chat_id: int, fmt: str, path: Path, done: Any = None) -> None:
        from gptoss_desktop.core.paths import write_private_text
        from gptoss_desktop.core.store import export

        def work() -> Path:
            if fmt == "markdown":
                text = export.export_conversation_markdown(self.store, chat_id)
            else:
                text = export.conversation_json_text(self.store, chat_id)
            try:
                write_private_text(path, text)
            except OSError as exc:
                raise GptossError(
                    f"Could not write {path} ({exc}): choose another folder."
                ) from exc
            return path

        self._run(
            work, done or (lambda p: self.p.banner.show_message(f"Exported to {p}", kind="info"))
        )

    def ask_import_chat(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.p.parent, "Import chat", "", "Chat JSON (*.json)"
        )
        if path:
            self.import_chat(Path(path))

    def import_chat(self, path: Path, done: Any = None) -> None:
        from gptoss_desktop.core.store.export import import_conversation_json

        def work() -> Any:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise GptossError(
                    f"Could not read {path} ({exc}): choose a chat JSON file."
                ) from exc
            return import_conversation_json(self.store, text)

        def opened(chat: Any) -> None:
            self.refresh_chats()
            self.p.chat.open(chat.id, then=done)

        self._run(work, opened)

    # --- models ----------------------------------------------------------------------------------
    def refresh_models(self, select: str | None = None) -> None:
        paths, settings, demo = self.p.paths, self.app_settings, self.p.resources.demo_model

        def work() -> list[tuple[str, str]]:
            from gptoss_desktop.core.library.discover import check_loadable

            # Files remembered by older versions are offered only if they pass the checks
            # an import makes (a broken file once picked must not stay in the list).
            known = [p for p in settings.model_paths if check_loadable(Path(p))[1] is None]
            try:
                from gptoss_desktop.core.library.installed import InstalledModels

                known += [
                    str(m.path) for m in InstalledModels(paths.models_dir).list() if m.present
                ]
            except Exception:  # the library index is optional here; the folder scan still runs
                pass
            return find_models([paths.models_dir], known, demo)

        def done(models: list[tuple[str, str]]) -> None:
            self.p.model_picker.set_models(models, select or settings.last_model)
            offer, self._offer_last = self._offer_last, None
            if offer is not None:
                offer()

        self._run(work, done)

    def load_model(self, path: str) -> None:
        n_ctx = self.p.chat.settings.context_length
        self.p.engines.load(path, n_ctx)

    # --- after a restart: the last chat, and the last model offered -------------------------------
    def restore_session(self) -> None:
        """Reopen the chat that was open when the app closed, and offer the model it used."""
        chat_id = self.app_settings.last_chat_id
        if chat_id is not None:
            store = self.store

            def exists() -> bool:
                try:
                    return store.conversations.get(chat_id).deleted_at is None
                except GptossError:
                    return False

            def reopen(alive: bool) -> None:
                if alive and self.p.chat.conversation is None and not self.p.chat.busy:
                    self.p.chat.open(chat_id)

            self.p.tasks.submit(exists, reopen, lambda _exc: None)
        last = self.app_settings.last_model
        if last:
            from gptoss_desktop.ui.engine_manager import model_label

            def offer(_: object = None) -> None:
                picker = self.p.model_picker
                if picker.current_path() == last and self.p.engines.current is None:
                    name = model_label(last, self.p.resources.demo_model)
                    self.p.banner.show_message(
                        f"Last time you used {name}. Load it now, or just send: Send loads "
                        "the picked model first.",
                        kind="info",
                        actions=[("load_last", "Load it now")],
                    )

            self._offer_last = offer

    def ask_import_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.p.parent, "Add a model file", "", "GGUF models (*.gguf)"
        )
        if path:
            self.import_model(path)

    def import_model(self, path: str) -> None:
        """Add a .gguf where it is (no copy) to the installed models, as the model manager
        does, after the same header and loadability checks; then select and load it.

        A file that fails the checks is refused with the reason: it is not listed, not
        offered to compare, and the loaded model stays loaded."""
        from gptoss_desktop.core.library.catalog import model_stem

        installed = self.model_library.installed
        file = Path(path)

        def work() -> Any:
            return installed.add_reference(
                [file], name=model_stem(file.name), source={"app": "file", "original": path}
            )

        def done(model: Any) -> None:
            chosen = str(model.path)
            if getattr(self, "_models_window", None) is not None:
                self._models_window.refresh_installed()
            self.refresh_models(select=chosen)
            if self.p.stack.currentWidget() is self.p.first_run:
                self.p.finish_first_run()
            self.load_model(chosen)

        def failed(exc: BaseException) -> None:
            if self.p.stack.currentWidget() is self.p.first_run:
                from gptoss_desktop.ui.errors import describe

                self.p.first_run.show_download_problem(describe(exc)[0])
            else:
                self.p.banner.show_error(exc)

        self.p.tasks.submit(work, done, failed)

    def start_with_demo(self) -> None:
        demo = self.p.resources.demo_model
        if demo is not None:
            self.p.finish_first_run()
            self.refresh_models(select=str(demo))
            self.load_model(str(demo))

    @property
    def model_library(self) -> Any:
        """The one :class:`ModelLibrary` of the window (catalog, installed models, downloads),
        shared by the model manager and the welcome screen; built on first use."""
        if getattr(self, "_model_library", None) is None:
            from gptoss_desktop.core.library.service import ModelLibrary

            self._model_library = ModelLibrary.from_paths(self.p.paths)
        return self._model_library

    def models_window(self) -> Any:
        """The model manager, built once."""
        if getattr(self, "_models_window", None) is None:
            from gptoss_desktop.ui.models_window import ModelsWindow

            self._models_window = ModelsWindow(library=self.model_library, parent=self.p.parent)
            self._models_window.sig_installed_changed.connect(self.refresh_models)
        return self._models_window

    def open_models_window(self) -> None:
        """The model manager (downloads, installed models); one window, raised if open."""
        window = self.models_window()
        window.show_on_screen()
        window.raise_()

    # --- gpt-oss other apps keep, and the recommended download (welcome screen) ------------------
    def discover_models(self) -> None:
        from gptoss_desktop.core.library.discover import discover

        self.p.tasks.submit(discover, self.p.first_run.show_found, lambda _exc: None)

    def use_found(self, found: Any) -> None:
        """Add a model another app keeps by reference (no copy), then select and load it."""
        installed = self.model_library.installed

        def work() -> Any:
            from gptoss_desktop.core.library.discover import add_found

            return add_found(installed, found)

        def done(model: Any) -> None:
            path = str(model.path)
            if getattr(self, "_models_window", None) is not None:
                self._models_window.refresh_installed()
            self.refresh_models(select=path)
            if self.p.stack.currentWidget() is self.p.first_run:
                self.p.finish_first_run()
            self.load_model(path)

        self._run(work, done)

    def download_recommended(self) -> None:
        """Start the recommended catalog model's download; its progress shows on the welcome
        screen. Free disk space is checked first (and again by the download itself)."""
        import shutil

        from gptoss_desktop.core.units import format_bytes

        lib = self.model_library
        entry = next((e for e in lib.catalog.entries if e.recommended), None)
        if entry is None:
            self.open_models_window()
            return
        folder = lib.installed.models_dir
        folder.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(folder).free
        need = int((entry.size_bytes or 0) * 1.02)
        if entry.size_bytes and free < need:
            self.p.first_run.show_download_problem(
                f"Not enough free disk space: {entry.title} needs {format_bytes(need)} in "
                f"{folder}, which has {format_bytes(free)} free. Free some space, then try again."
            )
            return
        if getattr(self, "_relay", None) is None:
            from gptoss_desktop.ui.models_window import _QueueRelay

            self._relay = _QueueRelay(self)
            self._relay.sig_task.connect(self._on_welcome_task)
            self._unsubscribe = lib.queue.subscribe(self._relay.sig_task.emit)
        self.models_window()  # its Downloads tab shows the same task
        snap = lib.queue.add(entry.repo, entry.files[0], entry.revision, entry.title)
        self._welcome_task: int | None = snap.id
        self.p.first_run.show_download(snap)

    def cancel_welcome_download(self) -> None:
        task = getattr(self, "_welcome_task", None)
        if task is not None:
            self.model_library.queue.cancel(task)

    def _on_welcome_task(self, snap: Any) -> None:
        if snap.id != getattr(self, "_welcome_task", None):
            return
        self.p.first_run.show_download(snap)
        if snap.state == "done":
            model = self.model_library.installed.get(snap.model_name)
            self._downloaded = str(model.path)
            self.refresh_models(select=self._downloaded)

    def start_with_download(self) -> None:
        path = getattr(self, "_downloaded", None)
        if path:
            self.p.finish_first_run()
            self.load_model(path)

    def close(self) -> None:
        """At exit: pause running downloads (partials are kept for next time)."""
        if getattr(self, "_unsubscribe", None) is not None:
            self._unsubscribe()
        if getattr(self, "_models_window", None) is not None:
            self._models_window.dispose()
        if getattr(self, "_model_library", None) is not None:
            self._model_library.close()

    def reload_with_context(self, n_ctx: int) -> None:
        model = self.p.engines.current
        path = model.path if model else self.p.model_picker.current_path()
        if path:
            self.p.engines.load(path, n_ctx)

    def show_compare(self) -> None:
        """Compare mode, a page beside the chat, offering the models the picker knows."""
        if self.compare_page is None:
            from gptoss_desktop.core.compare.runner import ColumnSetup, CompareSettings
            from gptoss_desktop.ui.compare import CompareView

            picker = self.p.model_picker
            models = [
                ColumnSetup(Path(str(picker.combo.itemData(i))), label=picker.combo.itemText(i))
                for i in range(picker.combo.count())
            ]
            # The experts slider's setting goes to gpt-oss columns too (0: the plan decides).
            settings = CompareSettings(n_cpu_moe=self.app_settings.n_cpu_moe or None)
            self.compare_page = CompareView(
                self.p.store, models, settings=settings, parent=self.p.parent
            )
            self.p.stack.addWidget(self.compare_page)
        self.p.stack.setCurrentWidget(self.compare_page)
        for dock in self.p.side_docks:  # the chat's panels; back with View > Chat
            dock.hide()

    # --- first run ---------------------------------------------------------------------------------
    def check_machine(self) -> None:
        from gptoss_desktop.ui.first_run import check_machine

        config = self.p.paths.config_dir
        self.p.tasks.submit(
            lambda: check_machine(config),
            self.p.first_run.show_report,
            lambda exc: self.p.first_run.show_error(str(exc)),
        )
        self.discover_models()

    # --- context choices -------------------------------------------------------------------------
    def context_actions(self) -> tuple[list[tuple[str, str]], str]:
        """The choices that can work with the loaded model, and why one is missing."""
        model = self.p.engines.current
        if (
            model is not None
            and model.info.n_ctx_train
            and model.info.n_ctx >= model.info.n_ctx_train
        ):
            why = (
                f" A larger context is not offered: this model was trained for at most "
                f"{model.info.n_ctx_train:,} tokens and already uses them all."
            )
            return [a for a in CONTEXT_ACTIONS if a[0] != "larger"], why
        return list(CONTEXT_ACTIONS), ""

    def warn_context(self, used: int, n_ctx: int) -> None:
        chat = self.p.chat.conversation
        if chat is None or chat.id in self._warned:
            return
        self._warned.add(chat.id)
        actions, why = self.context_actions()
        self.p.banner.show_message(
            f"This chat fills {used:,} of the model's {n_ctx:,}-token context. Before it no "
            f"longer fits, choose what to do (nothing is dropped without asking).{why}",
            kind="warning",
            actions=actions,
        )

    def offer_context_choices(self, exc: ContextOverflow) -> None:
        actions, why = self.context_actions()
        self.p.banner.show_message(exc.message + why, kind="warning", actions=actions)

    def on_banner_action(self, key: str) -> None:
        self.p.banner.hide()
        chat = self.p.chat
        pending = bool(
            chat.snapshot and chat.snapshot.turns and chat.snapshot.turns[-1].role == "user"
        )
        if key == "undo_delete":
            self.undo_delete()
        elif key == "load_last":
            path = self.p.model_picker.current_path()
            if path and self.p.engines.current is None:
                self.load_model(path)
        elif key == "drop":
            chat.drop_oldest_turns(2)
            if pending:
                chat.answer_last()
        elif key == "continue":
            chat.continue_in_new_chat()
        elif key == "larger":
            model = self.p.engines.current
            n_ctx = model.info.n_ctx * 2 if model else 8192
            if model and model.info.n_ctx_train:
                n_ctx = min(n_ctx, model.info.n_ctx_train)
            self._retry_after_load = pending
            if chat.conversation is not None:
                chat.update_settings(replace(chat.settings, context_length=n_ctx))
                self.p.settings_panel.set_settings(chat.settings)
            self.reload_with_context(n_ctx)

    def _after_load(self, _path: str, state: str, _detail: str) -> None:
        if state == "loaded" and self._retry_after_load:
            self._retry_after_load = False
            self.p.chat.answer_last()
