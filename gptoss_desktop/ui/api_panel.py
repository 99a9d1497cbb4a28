"""The "Local API" settings: a switch (off by default) that serves the loaded model to other
programs, with the address, the key and a copy-paste example; and the busy signal the window
shows while an API request holds or waits for the model.

:class:`LocalApiController` owns the server (started and stopped on a pool thread; the key
comes from the keychain, made once); :class:`LocalApiPanel` is its view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.core.api.gate import GateState

if TYPE_CHECKING:
    from gptoss_desktop.api.server import ApiServer
    from gptoss_desktop.core.api.keys import ApiKeyStore
    from gptoss_desktop.core.store.store import Store
    from gptoss_desktop.ui.engine_manager import EngineManager
    from gptoss_desktop.ui.workers import BackgroundTasks

DEFAULT_PORT = 8977


@dataclass(frozen=True)
class ApiStatus:
    running: bool
    url: str = ""
    key: str = ""
    key_where: str = ""
    error: str = ""


def busy_text(state: GateState) -> str:
    """What the window shows about the API ("" when the API is not using the model)."""
    if not state.api_active:
        return ""
    if state.holder == "api":
        waiting = f", {state.waiting} waiting" if state.waiting else ""
        return f"Local API: answering a request{waiting}"
    return f"Local API: {state.waiting} request(s) waiting for the model"


def example(url: str, key: str, model: str) -> str:
    return (
        f"curl {url}/v1/chat/completions \\\n"
        f'  -H "Authorization: Bearer {key}" -H "Content-Type: application/json" \\\n'
        f'  -d \'{{"model": "{model}", "messages": [{{"role": "user", "content": "Hello!"}}]}}\'\n\n'
        "# Python (pip install openai)\n"
        "from openai import OpenAI\n"
        f'client = OpenAI(base_url="{url}/v1", api_key="{key}")\n'
        f'print(client.chat.completions.create(model="{model}",\n'
        '    messages=[{"role": "user", "content": "Hello!"}]).choices[0].message.content)\n'
    )


class LocalApiController(QObject):
    sig_status = Signal(object)  # ApiStatus
    sig_busy = Signal(str)  # busy_text of the gate's state ("" when idle)

    def __init__(
        self,
        engines: EngineManager,
        store: Store,
        tasks: BackgroundTasks,
        *,
        keys: ApiKeyStore | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.engines = engines
        self.store = store
        self.tasks = tasks
        self._keys = keys
        self.server: ApiServer | None = None
        self.status = ApiStatus(False)
        self.dock: Any = None  # the window's dock holding the panel (attach_to)
        # the gate reports from any thread; the signal carries it to the main thread
        self._unsubscribe = engines.gate.subscribe(lambda s: self.sig_busy.emit(busy_text(s)))

    @property
    def keys(self) -> ApiKeyStore:
        """The key store (the keychain), made when first needed (not at start-up)."""
        if self._keys is None:
            from gptoss_desktop.core.api.keys import ApiKeyStore

            self._keys = ApiKeyStore()
        return self._keys

    def start(self, port: int, origins: tuple[str, ...] = ()) -> None:
        if self.server is not None:
            return

        def work() -> tuple[ApiServer, ApiStatus]:
            from gptoss_desktop.api.server import ApiServer, ServerConfig
            from gptoss_desktop.core.api.service import ApiService
            from gptoss_desktop.core.store.responses import ResponseStore

            key = self.keys.get_or_create()
            service = ApiService(self.engines.api_host, ResponseStore(self.store.db))
            server = ApiServer(
                service, ServerConfig(port=port, api_key=key, allowed_origins=origins)
            )
            url = server.start()
            return server, ApiStatus(True, url, key, self.keys.where)

        def done(result: tuple[ApiServer, ApiStatus]) -> None:
            self.server, self.status = result
            self.sig_status.emit(self.status)

        def failed(exc: BaseException) -> None:
            self._set(ApiStatus(False, error=str(exc)))

        self.tasks.submit(work, done, failed)

    def stop(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.stop()
        self._set(ApiStatus(False))

    def renew_key(self) -> None:
        self.keys.renew()
        if self.server is not None:
            port = self.server.port
            origins = self.server.config.allowed_origins
            self.stop()
            self.start(port, origins)

    def forget_responses(self) -> int:
        from gptoss_desktop.core.store.responses import ResponseStore

        return ResponseStore(self.store.db).clear()

    def shutdown(self) -> None:
        self._unsubscribe()
        self.stop()

    def _set(self, status: ApiStatus) -> None:
        self.status = status
        self.sig_status.emit(status)


class LocalApiPanel(QWidget):
    sig_toggled = Signal(bool, int, object)  # on, port, allowed origins (tuple)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LocalApiPanel")
        self.setAccessibleName("Local API settings")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 12, 12, 12)
        self.enabled = QCheckBox("Local API")
        self.enabled.setToolTip(
            "Serve the loaded model to other programs on this computer "
            "(OpenAI-compatible, 127.0.0.1 only)"
        )
        outer.addWidget(self.enabled)
        note = QLabel(
            "Other programs on this computer can use the loaded model through an "
            "OpenAI-compatible API. Only this computer can connect; every request needs the key."
        )
        note.setWordWrap(True)
        outer.addWidget(note)
        form = QFormLayout()
        outer.addLayout(form)
        self.port = QSpinBox()
        self.port.setRange(1024, 65535)
        self.port.setValue(DEFAULT_PORT)
        self.port.setAccessibleName("Port")
        form.addRow("Port", self.port)
        self.origins = QLineEdit()
        self.origins.setPlaceholderText("none (browser pages are refused)")
        self.origins.setToolTip("Web origins allowed to call the API, comma-separated")
        self.origins.setAccessibleName("Allowed browser origins")
        form.addRow("Browser origins", self.origins)
        self.address = QLineEdit()
        self.address.setReadOnly(True)
        self.address.setAccessibleName("API address")
        self.key = QLineEdit()
        self.key.setReadOnly(True)
        self.key.setAccessibleName("API key")
        form.addRow("Address", _with_copy(self.address))
        form.addRow("Key", _with_copy(self.key))
        self.key_note = QLabel()
        self.key_note.setWordWrap(True)
        form.addRow("", self.key_note)
        self.new_key = QPushButton("New key")
        self.new_key.setToolTip("Make a new key; programs using the old one stop working")
        self.forget = QPushButton("Forget stored responses")
        self.forget.setToolTip("Delete the conversations kept for previous_response_id")
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_key)
        buttons.addWidget(self.forget)
        buttons.addStretch(1)
        outer.addLayout(buttons)
        self.status = QLabel("Off")
        self.status.setObjectName("ApiStatus")
        self.status.setWordWrap(True)
        outer.addWidget(self.status)
        outer.addWidget(QLabel("Example"))
        self.example = QPlainTextEdit()
        self.example.setReadOnly(True)
        self.example.setAccessibleName("Example request")
        self.example.setMinimumHeight(150)
        self.example.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        outer.addWidget(self.example)
        copy_example = QPushButton("Copy example")
        copy_example.clicked.connect(lambda: _copy(self.example.toPlainText()))
        outer.addWidget(copy_example)
        outer.addStretch(1)
        self.enabled.toggled.connect(self._toggled)
        self.set_status(ApiStatus(False))

    def allowed_origins(self) -> tuple[str, ...]:
        return tuple(o.strip() for o in self.origins.text().split(",") if o.strip())

    def _toggled(self, on: bool) -> None:
        self.port.setEnabled(not on)
        self.origins.setEnabled(not on)
        self.sig_toggled.emit(on, self.port.value(), self.allowed_origins())

    def set_status(self, status: ApiStatus, model: str = "MODEL") -> None:
        self.address.setText(f"{status.url}/v1" if status.running else "")
        self.key.setText(status.key if status.running else "")
        self.new_key.setEnabled(status.running)
        if status.running and status.key_where != "keychain":
            self.key_note.setText("No usable keychain: this key lasts until the app closes.")
        else:
            self.key_note.setText("")
        if status.error:
            self.status.setText(f"Could not start: {status.error}")
            self.enabled.blockSignals(True)
            self.enabled.setChecked(False)
            self.enabled.blockSignals(False)
            self.port.setEnabled(True)
            self.origins.setEnabled(True)
        else:
            self.status.setText(f"Listening on {status.url}" if status.running else "Off")
        self.example.setPlainText(example(status.url, status.key, model) if status.running else "")

    def set_busy(self, text: str, status: ApiStatus) -> None:
        if status.running:
            self.status.setText(text or f"Listening on {status.url}")


def _copy(text: str) -> None:
    clipboard = QGuiApplication.clipboard()
    if clipboard is not None:
        clipboard.setText(text)


def _with_copy(field: QLineEdit) -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(field, 1)
    button = QPushButton("Copy")
    button.setAccessibleName(f"Copy {field.accessibleName()}")
    button.clicked.connect(lambda: _copy(field.text()))
    row.addWidget(button)
    return box


def attach_to(window: Any) -> LocalApiController:
    """Build the panel and controller into the main window (a tabbed side panel, the busy
    label in the composer's footer, the saved switch)."""
    controller = LocalApiController(window.engines, window.store, window.tasks, parent=window)
    panel = LocalApiPanel()
    dock = window.add_side_panel(panel, "Local API")
    busy = QLabel()
    busy.setObjectName("ApiBusy")
    busy.setAccessibleName("Local API activity")
    busy.hide()
    window.composer.footer.addWidget(busy)
    saved = dict(window.app_settings.extra.get("local_api") or {})
    panel.port.setValue(int(saved.get("port", DEFAULT_PORT)))
    panel.origins.setText(", ".join(saved.get("origins", [])))

    def model_name() -> str:
        current = window.engines.current
        from pathlib import Path

        return Path(current.path).stem if current is not None else "MODEL"

    def toggled(on: bool, port: int, origins: tuple[str, ...]) -> None:
        extra = dict(window.app_settings.extra)
        extra["local_api"] = {"enabled": on, "port": port, "origins": list(origins)}
        window.library.save_settings(extra=extra)
        if on:
            panel.status.setText("Starting…")
            controller.start(port, origins)
        else:
            controller.stop()

    def on_busy(text: str) -> None:
        busy.setText(text)
        busy.setVisible(bool(text))
        panel.set_busy(text, controller.status)

    def on_forget() -> None:
        n = controller.forget_responses()
        panel.status.setText(f"Forgot {n} stored response(s)")

    panel.sig_toggled.connect(toggled)
    controller.sig_status.connect(lambda s: panel.set_status(s, model_name()))
    controller.sig_busy.connect(on_busy)
    panel.new_key.clicked.connect(controller.renew_key)
    panel.forget.clicked.connect(on_forget)
    window.engines.sig_state.connect(lambda *_: panel.set_status(controller.status, model_name()))
    controller.dock = dock
    window.local_api_dock = dock
    window.local_api_panel = panel
    window.api_busy_label = busy
    if saved.get("enabled"):
        panel.enabled.setChecked(True)
    return controller
