"""Screenshots of the real chat app (offscreen Qt, the real worker, the bundled demo model).

    python docs/screenshots/capture_chat.py [OUT_DIR]

Writes, at 1280x800: chat-reasoning.png (light, reasoning expanded), chat-dark.png (the same
chat in the dark theme) and first-run.png (the welcome screen with this machine's check); at
1024x700 (a laptop at 150 % scaling): first-run-1024x700.png, chat-1024x700.png (chat settings
and the tool panel open, tools on) and models-1024x700.png (the model manager). Every text in
the chat is what the demo model really wrote, greedy.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

QUESTIONS = ("What is the capital of France?", "Say hello to Alice.", "What is the date today?")
SIZE = (1280, 800)
SMALL = (1024, 700)


def wait(app, predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        app.processEvents()
        time.sleep(0.005)


def settle(app, seconds: float = 0.6) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def window(home: Path, first_run_done: bool):
    from gptoss_desktop.app import build_window
    from gptoss_desktop.core.paths import AppPaths
    from gptoss_desktop.resources import Resources

    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "settings.json").write_text(
        '{"schema_version": 1, "first_run_done": %s, "n_threads": 1, "n_gpu_layers": 0}'
        % ("true" if first_run_done else "false"),
        encoding="utf-8",
    )
    w = build_window(AppPaths.under(home), resources=Resources.locate()).window
    w.resize(*SIZE)
    w.show()
    return w


def main(out: Path) -> int:
    from PySide6.QtWidgets import QApplication

    from gptoss_desktop.resources import Resources

    app = QApplication.instance() or QApplication([])
    demo = Resources.locate().demo_model
    if demo is None:
        print("no demo model in resources/models", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        first = window(Path(tmp) / "first", first_run_done=False)
        wait(app, lambda: first.first_run.report is not None, 90)
        settle(app)
        first.grab().save(str(out / "first-run.png"))
        first.resize(*SMALL)
        settle(app)
        first.grab().save(str(out / "first-run-1024x700.png"))
        first.close()

        w = window(Path(tmp) / "chat", first_run_done=True)
        w.library.start_with_demo()
        wait(app, lambda: w.engines.current is not None)
        settings = replace(
            w.chat.settings, temperature=0.0, max_tokens=400, reasoning_effort="high"
        )
        w.settings_panel.set_settings(settings)
        w.chat.update_settings(settings)
        for question in QUESTIONS:
            done: list[object] = []
            w.chat.sig_turn_finished.connect(done.append)
            w.composer.edit.setPlainText(question)
            w.composer.submit()
            wait(app, lambda d=done: bool(d))
            w.chat.sig_turn_finished.disconnect()
        settle(app)
        from gptoss_desktop.ui.assistant_turn import AssistantTurnWidget

        turns = [t for t in w.chat_view.turn_widgets() if isinstance(t, AssistantTurnWidget)]
        for section in turns[-1].reasoning_sections():
            section.set_expanded(True)
        w.composer.edit.setPlainText("Thanks! And what is the weather in Oslo?")
        settle(app)
        w.chat_view.scroll_to_bottom()
        settle(app)
        w.grab().save(str(out / "chat-reasoning.png"))
        w.library.set_theme("dark")
        settle(app)
        w.chat_view.scroll_to_bottom()
        settle(app)
        w.grab().save(str(out / "chat-dark.png"))
        w.library.set_theme("light")
        tools = replace(w.chat.settings, enabled_tools=("python", "browser"))
        w.settings_panel.set_settings(tools)
        w.chat.update_settings(tools)
        w.tools.show_summary(tools)
        w.resize(*SMALL)
        w.fit_side_panels()
        w.tools.dock.show()
        w.tools.dock.raise_()
        settle(app)
        w.chat_view.scroll_to_bottom()
        settle(app)
        w.grab().save(str(out / "chat-1024x700.png"))
        w.library.open_models_window()
        models = w.library.models_window()
        models.resize(*SMALL)
        wait(app, lambda: models.found_table.rowCount() >= 0 and models._memory is not None)
        settle(app)
        models.grab().save(str(out / "models-1024x700.png"))
        models.hide()
        w.close()
    print("wrote", ", ".join(p.name for p in sorted(out.glob("*.png"))))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent))
