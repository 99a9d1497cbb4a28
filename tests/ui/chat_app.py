"""Building the real chat window for tests, and driving it like a user would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import PROJECT_MODELS, shared_model

STORY = "stories260K.gguf"
STORY_GREEDY = ", there was a little girl named Lily"


def harmony_demo_model() -> Path:
    """The project's trained tiny Harmony model, or skip until it has been generated."""
    path = PROJECT_MODELS / "tiny-harmony.gguf"
    if not path.is_file():
        pytest.skip("tests/data/models/tiny-harmony.gguf is not there yet (make_models.py)")
    return path


def write_settings(home: Path, **values: Any) -> None:
    config = home / "config"
    config.mkdir(parents=True, exist_ok=True)
    data = {"schema_version": 1, "first_run_done": True, "n_threads": 1, "n_gpu_layers": 0}
    data.update(values)
    (config / "settings.json").write_text(json.dumps(data), encoding="utf-8")


def make_window(qtbot: Any, home: Path, resources: Path | None = None, **settings: Any) -> Any:
    """The app's main window on ``home`` (settings written first), shown offscreen."""
    from gptoss_desktop.app import build_window
    from gptoss_desktop.core.paths import AppPaths
    from gptoss_desktop.resources import Resources

    if not (home / "config" / "settings.json").exists() or settings:
        write_settings(home, **settings)
    res = Resources(resources if resources is not None else home / "no-resources")
    parts = build_window(AppPaths.under(home), resources=res)
    window = parts.window
    qtbot.addWidget(window)
    window.show()
    return window


def load_model(qtbot: Any, window: Any, path: Path, timeout: int = 30_000) -> None:
    window.library.import_model(str(path))
    qtbot.waitUntil(lambda: window.engines.current is not None, timeout=timeout)


def set_chat_settings(window: Any, **changes: Any) -> None:
    from dataclasses import replace

    settings = replace(window.chat.settings, **changes)
    window.settings_panel.set_settings(settings)
    window.chat.update_settings(settings)


def send(qtbot: Any, window: Any, text: str, timeout: int = 30_000) -> Any:
    """Type ``text``, press Enter, wait for the turn to finish and be saved; its JobOutcome."""
    with qtbot.waitSignal(window.chat.sig_turn_finished, timeout=timeout) as blocker:
        window.composer.edit.setPlainText(text)
        window.composer.edit.setFocus()
        from PySide6.QtCore import Qt

        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    return blocker.args[0]


def story_model() -> Path:
    return shared_model(STORY)


def assistant_widgets(window: Any) -> list[Any]:
    from gptoss_desktop.ui.assistant_turn import AssistantTurnWidget

    return [w for w in window.chat_view.turn_widgets() if isinstance(w, AssistantTurnWidget)]


def user_widgets(window: Any) -> list[Any]:
    from gptoss_desktop.ui.message_widget import UserMessageWidget

    return [w for w in window.chat_view.turn_widgets() if isinstance(w, UserMessageWidget)]
