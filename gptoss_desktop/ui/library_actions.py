"""The window's actions on its libraries: chats (list, search, rename, pin, delete with undo,
export, import) and models (list, load, import, the models window), plus theme, settings,
the first-run check and the choices offered when a chat would not fit.

Database and file work runs on the window's background tasks; results come back here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from gptoss_desktop.core.errors import ContextOverflow, GptossError
from gptoss_desktop.core.store.records import SearchHit
from gptoss_desktop.ui.model_picker import find_models
from gptoss_desktop.ui.sidebar import MARK

if TYPE_CHECKING:
    from gptoss_desktop.ui.main_window import MainWindow

CONTEXT_ACTIONS = [
    ("drop", "Leave out oldest turns"),
    ("continue", "New chat from here"),
    ("larger", "Larger context"),
]


class LibraryActions(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self._deleted: int | None = None
        self._warned: set[int] = set()
        self._retry_after_load = False
        window.engines.sig_state.connect(self._after_load)

    @property
    def store(self) -> Any:
        return self.w.store

    def _run(self, fn: Any, done: Any = None) -> None:
        self.w.tasks.submit(fn, done, self.w.banner.show_error)

    # --- settings and theme ----------------------------------------------------------------------
    def save_settings(self, **changes: Any) -> None:
        new = replace(self.w.app_settings, **changes)
        if new != self.w.app_settings:
            self.w.app_settings = new
            self._run(lambda: self.w.settings_file.save(new))

    def set_theme(self, choice: str) -> None:
        self.w.theme.apply(choice)
        self.save_settings(theme=choice)

    # --- chats -----------------------------------------------------------------------------------
    def refresh_chats(self) -> None:
        self._run(lambda: self.store.conversations.list_live(), self.w.sidebar.set_conversations)

    def search(self, text: str) -> None:
        if text:
            self._run(
                lambda: self.store.search(text, limit=60, mark=MARK),
                lambda hits: self.w.sidebar.show_results(text, hits),
            )

    def open_hit(self, hit: SearchHit) -> None:
        if hit.message_id is None:
            self.w.chat.open(hit.conversation_id)
        else:
            self.w.chat.open_message(hit.conversation_id, hit.message_id)

    def rename_chat(self, chat_id: int, title: str) -> None:
        self._run(
            lambda: self.store.conversations.rename(chat_id, title), lambda _c: self.refresh_chats()
        )

    def pin_chat(self, chat_id: int, pinned: bool) -> None:
        self._run(
            lambda: self.store.conversations.set_pinned(chat_id, pinned),
            lambda _c: self.refresh_chats(),
        )

    def delete_chat(self, chat_id: int) -> None:
        def done(chat: Any) -> None:
            self._deleted = chat_id
            if self.w.chat.conversation is not None and self.w.chat.conversation.id == chat_id:
                self.w.chat.new_chat()
            self.refresh_chats()
            self.w.banner.show_message(
                f"Deleted “{chat.title}”.", kind="info", actions=[("undo_delete", "Undo")]
            )

        if not (
            self.w.chat.busy and self.w.chat.conversation and self.w.chat.conversation.id == chat_id
        ):
            self._run(lambda: self.store.conversations.delete(chat_id), done)

    def undo_delete(self) -> None:
        chat_id, self._deleted = self._deleted, None
        if chat_id is not None:
            self._run(
                lambda: self.store.conversations.restore(chat_id), lambda _c: self.refresh_chats()
            )
            self.w.banner.hide()

    def ask_export(self, chat_id: int | None, fmt: str) -> None:
        chat_id = chat_id or (self.w.chat.conversation.id if self.w.chat.conversation else None)
        if chat_id is None:
            return
        suffix = "md" if fmt == "markdown" else "json"
        path, _ = QFileDialog.getSaveFileName(
            self.w, "Export chat", f"chat.{suffix}", f"*.{suffix}"
        )
        if path:
            self.export_chat(chat_id, fmt, Path(path))

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
            work, done or (lambda p: self.w.banner.show_message(f"Exported to {p}", kind="info"))
        )

    def ask_import_chat(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.w, "Import chat", "", "Chat JSON (*.json)")
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
            self.w.chat.open(chat.id, then=done)

        self._run(work, opened)

    # --- models ----------------------------------------------------------------------------------
    def refresh_models(self, select: str | None = None) -> None:
        paths, settings, demo = self.w.paths, self.w.app_settings, self.w.resources.demo_model

        def work() -> list[tuple[str, str]]:
            known = list(settings.model_paths)
            try:
                from gptoss_desktop.core.library.installed import InstalledModels

                known += [
                    str(m.path) for m in InstalledModels(paths.models_dir).list() if m.present
                ]
            except Exception:  # the library index is optional here; the folder scan still runs
                pass
            return find_models([paths.models_dir], known, demo)

        self._run(
            work,
            lambda models: self.w.model_picker.set_models(models, select or settings.last_model),
        )

    def load_model(self, path: str) -> None:
        n_ctx = self.w.chat.settings.context_length
        self.w.engines.load(path, n_ctx)

    def ask_import_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.w, "Use a model file", "", "GGUF models (*.gguf)"
        )
        if path:
            self.import_model(path)

    def import_model(self, path: str) -> None:
        """Remember a .gguf where it is (no copy), select it and load it."""
        self.save_settings(model_paths=self.w.app_settings.with_model(path).model_paths)
        self.refresh_models(select=path)
        if self.w.stack.currentWidget() is self.w.first_run:
            self.w.finish_first_run()
        self.load_model(path)

    def start_with_demo(self) -> None:
        demo = self.w.resources.demo_model
        if demo is not None:
            self.w.finish_first_run()
            self.refresh_models(select=str(demo))
            self.load_model(str(demo))

    def open_models_window(self) -> None:
        """The model manager (downloads, installed models); one window, raised if open."""
        if getattr(self, "_models_window", None) is None:
            from gptoss_desktop.core.library.service import ModelLibrary
            from gptoss_desktop.ui.models_window import ModelsWindow

            library = ModelLibrary.from_paths(self.w.paths)
            self._models_window = ModelsWindow(library=library, parent=self.w)
            self._models_window.sig_installed_changed.connect(self.refresh_models)
        self._models_window.show()
        self._models_window.raise_()

    def reload_with_context(self, n_ctx: int) -> None:
        model = self.w.engines.current
        path = model.path if model else self.w.model_picker.current_path()
        if path:
            self.w.engines.load(path, n_ctx)

    def show_compare(self) -> None:
        """Compare mode, a page beside the chat, offering the models the picker knows."""
        if self.w.compare_page is None:
            from gptoss_desktop.core.compare.runner import ColumnSetup
            from gptoss_desktop.ui.compare import CompareView

            picker = self.w.model_picker
            models = [
                ColumnSetup(Path(str(picker.combo.itemData(i))), label=picker.combo.itemText(i))
                for i in range(picker.combo.count())
            ]
            self.w.compare_page = CompareView(self.w.store, models, parent=self.w)
            self.w.stack.addWidget(self.w.compare_page)
        self.w.stack.setCurrentWidget(self.w.compare_page)
        for dock in self.w.side_docks:  # the chat's panels; back with View > Chat
            dock.hide()

    # --- first run ---------------------------------------------------------------------------------
    def check_machine(self) -> None:
        from gptoss_desktop.ui.first_run import check_machine

        config = self.w.paths.config_dir
        self.w.tasks.submit(
            lambda: check_machine(config),
            self.w.first_run.show_report,
            lambda exc: self.w.first_run.show_error(str(exc)),
        )

    # --- context choices -------------------------------------------------------------------------
    def warn_context(self, used: int, n_ctx: int) -> None:
        chat = self.w.chat.conversation
        if chat is None or chat.id in self._warned:
            return
        self._warned.add(chat.id)
        self.w.banner.show_message(
            f"This chat fills {used:,} of the model's {n_ctx:,}-token context. Before it no "
            "longer fits, choose what to do (nothing is dropped without asking):",
            kind="warning",
            actions=CONTEXT_ACTIONS,
        )

    def offer_context_choices(self, exc: ContextOverflow) -> None:
        self.w.banner.show_message(exc.message, kind="warning", actions=CONTEXT_ACTIONS)

    def on_banner_action(self, key: str) -> None:
        self.w.banner.hide()
        chat = self.w.chat
        pending = bool(
            chat.snapshot and chat.snapshot.turns and chat.snapshot.turns[-1].role == "user"
        )
        if key == "undo_delete":
            self.undo_delete()
        elif key == "drop":
            chat.drop_oldest_turns(2)
            if pending:
                chat.answer_last()
        elif key == "continue":
            chat.continue_in_new_chat()
        elif key == "larger":
            model = self.w.engines.current
            n_ctx = model.info.n_ctx * 2 if model else 8192
            if model and model.info.n_ctx_train:
                n_ctx = min(n_ctx, model.info.n_ctx_train)
            self._retry_after_load = pending
            if chat.conversation is not None:
                chat.update_settings(replace(chat.settings, context_length=n_ctx))
                self.w.settings_panel.set_settings(chat.settings)
            self.reload_with_context(n_ctx)

    def _after_load(self, _path: str, state: str, _detail: str) -> None:
        if state == "loaded" and self._retry_after_load:
            self._retry_after_load = False
            self.w.chat.answer_last()
