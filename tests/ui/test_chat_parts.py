"""The chat window's parts on their own: Markdown splitting and rendering, code blocks,
stream batching, titles, history trimming, settings file, theme, first-run screen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication

from gptoss_desktop.core.store.records import Message
from gptoss_desktop.resources import DEMO_MODEL_LABEL, Resources
from gptoss_desktop.ui.app_settings import AppSettings, SettingsFile
from gptoss_desktop.ui.chat_controller import drop_turns, title_from
from gptoss_desktop.ui.context_meter import ContextMeter, level
from gptoss_desktop.ui.generation import StreamBuffer
from gptoss_desktop.ui.markdown_view import AutoHeightText, CodeBlock, MarkdownView, split_markdown
from gptoss_desktop.ui.message_widget import metrics_text
from tests.ui.chat_app import make_window


def test_split_markdown_separates_prose_and_fenced_code() -> None:
    text = "Intro\n\n```python\nprint('hi')\n```\nAfter\n~~~\nraw\n~~~"
    segs = split_markdown(text)
    assert [(s.kind, s.lang) for s in segs] == [
        ("text", ""),
        ("code", "python"),
        ("text", ""),
        ("code", ""),
    ]
    assert segs[1].text == "print('hi')" and segs[3].text == "raw"
    streaming = split_markdown("See:\n```js\nlet a = 1")
    assert streaming[-1].kind == "code" and not streaming[-1].closed
    assert streaming[-1].text == "let a = 1"


def test_markdown_view_renders_tables_lists_and_never_html(qtbot) -> None:
    view = MarkdownView(
        "# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- x\n- y <b>z</b> <img src=x>"
    )
    qtbot.addWidget(view)
    box = view.widgets()[0]
    assert isinstance(box, AutoHeightText)
    doc = box.document()
    assert "Title" in doc.toPlainText()
    assert "<b>z</b>" in doc.toPlainText()  # HTML from a model is text, not markup
    html = doc.toHtml()
    assert "<table" in html and "<li" in html


def test_code_block_has_language_highlighting_and_copy(qtbot) -> None:
    view = MarkdownView("Run:\n\n```python\ndef f():\n    return 'x'  # done\n```\n")
    qtbot.addWidget(view)
    block = next(w for w in view.widgets() if isinstance(w, CodeBlock))
    assert block.lang_label.text() == "python"
    assert block.code == "def f():\n    return 'x'  # done"
    first = block.editor.document().firstBlock()
    formats = first.layout().formats()
    assert any(f.start == 0 and f.length == 3 for f in formats)  # "def" is a keyword
    block.copy_button.click()
    assert QGuiApplication.clipboard().text() == block.code
    assert block.copy_button.text() == "Copied"


def test_streaming_appends_to_the_last_box_and_rerenders_at_fences(qtbot) -> None:
    view = MarkdownView("")
    qtbot.addWidget(view)
    view.append_text("Hello ")
    box = view.widgets()[-1]
    view.append_text("world")
    assert view.widgets()[-1] is box  # appended in place, not rebuilt
    assert box.toPlainText() == "Hello world"
    view.append_text("\n```python\nx = 1")
    assert isinstance(view.widgets()[-1], CodeBlock)
    view.append_text("\ny = 2")
    assert view.widgets()[-1].code == "x = 1\ny = 2"
    view.append_text("\n```\nDone.")
    view.finish()
    kinds = [type(w).__name__ for w in view.widgets()]
    assert kinds == ["AutoHeightText", "CodeBlock", "AutoHeightText"]
    assert view.text == "Hello world\n```python\nx = 1\ny = 2\n```\nDone."


def test_stream_buffer_coalesces_deltas_per_message() -> None:
    from gptoss_desktop.core.chat.recorder import RowDelta, RowEnded

    buf = StreamBuffer()
    for item in [
        RowDelta(1, "a"),
        RowDelta(1, "b"),
        RowEnded(1, "complete"),
        RowDelta(2, "c"),
        RowDelta(2, "d"),
    ]:
        buf.push(item)
    assert buf.drain() == [RowDelta(1, "ab"), RowEnded(1, "complete"), RowDelta(2, "cd")]
    assert buf.drain() == []


def test_the_view_refuses_what_is_not_a_row_update(qtbot, tmp_path: Path) -> None:
    """An item of another shape is an error, not silently nothing shown (the UI bench once
    measured an idle view this way)."""
    from gptoss_desktop.core.chat.recorder import RowCreated, RowDelta, RowStarted

    w = make_window(qtbot, tmp_path / "home")
    view = w.chat_view
    live = view.begin_assistant("m")
    row = _msg(5, "assistant", "t")
    view.apply([RowCreated(_msg(4, "user", "u")), RowStarted(row), RowDelta(row.id, "Hi")])
    assert "Hi" in live.answer_text()
    with pytest.raises(TypeError, match="not a row update"):
        view.apply([("delta", row.id, "old shape")])


def _msg(i: int, role: str, turn: str) -> Message:
    return Message(
        id=i, conversation_id=1, parent_id=i - 1 or None, turn_id=turn, role=role, content=str(i)
    )  # type: ignore[arg-type]


def test_titles_and_dropping_whole_turns() -> None:
    assert title_from("  Once upon a time  ") == "Once upon a time"
    assert title_from("one two three four five six seven eight nine ten").endswith("…")
    history = [
        _msg(1, "user", "a"),
        _msg(2, "assistant", "b"),
        _msg(3, "assistant", "b"),
        _msg(4, "user", "c"),
    ]
    assert [m.id for m in drop_turns(history, 0)] == [1, 2, 3, 4]
    assert [m.id for m in drop_turns(history, 1)] == [2, 3, 4]
    assert [m.id for m in drop_turns(history, 2)] == [4]  # the two assistant rows are one turn


def test_metrics_text_and_context_levels(qtbot) -> None:
    text = metrics_text(
        {
            "ttft_s": 0.25,
            "tokens_per_s": 41.26,
            "completion_tokens": 12,
            "stop_reason": "max_tokens",
        }
    )
    assert (
        text
        == "250 ms to first token · 41.3 tokens/s · 12 tokens · stopped at the max tokens setting"
    )
    # memory: the worker's anonymous resident memory (bench/scale.py's rss_anon figure)
    with_memory = metrics_text({"completion_tokens": 3, "peak_rss_bytes": 12_400_000_000})
    assert with_memory == "3 tokens · 12.4 GB in RAM"
    assert level(100, 1000) == "ok" and level(850, 1000) == "warn" and level(990, 1000) == "full"
    meter = ContextMeter()
    qtbot.addWidget(meter)
    assert meter.set_usage(900, 1000) == "warn"
    assert "nearly full" in meter.label.text()


def test_settings_file_round_trip_and_damaged_file(tmp_path: Path) -> None:
    f = SettingsFile(tmp_path)
    assert f.load() == AppSettings()
    s = (
        AppSettings(theme="dark")
        .with_model("/m/a.gguf")
        .with_model("/m/b.gguf")
        .with_model("/m/a.gguf")
    )
    f.save(s)
    loaded = SettingsFile(tmp_path).load()
    assert loaded.theme == "dark" and loaded.model_paths == ("/m/a.gguf", "/m/b.gguf")
    assert loaded.last_model == "/m/a.gguf"
    f.path.write_text("{broken", encoding="utf-8")
    again = SettingsFile(tmp_path)
    assert again.load() == AppSettings()
    assert again.problem and "damaged" in again.problem
    assert (tmp_path / "settings.json.broken").exists()
    f.path.write_text(json.dumps({"schema_version": 99}), encoding="utf-8")
    newer = SettingsFile(tmp_path)
    assert newer.load() == AppSettings() and "newer version" in (newer.problem or "")


def test_settings_saves_that_run_out_of_order_keep_the_last_change(qtbot, tmp_path: Path) -> None:
    """Settings are saved on the window's thread pool, where two saves may run in either
    order: whichever runs last must still write every change (a restart once lost the chat
    to reopen this way)."""
    w = make_window(qtbot, tmp_path / "home")
    queued: list = []
    w.library._run = lambda fn, done=None: queued.append(fn)
    w.library.save_settings(theme="dark")
    w.library.save_settings(last_chat_id=7)
    assert len(queued) == 2
    for fn in reversed(queued):  # the later save first, then the earlier one
        fn()
    saved = SettingsFile(tmp_path / "home" / "config").load()
    assert (saved.theme, saved.last_chat_id) == ("dark", 7)


def test_theme_follows_the_choice(qtbot, tmp_path: Path) -> None:
    w = make_window(qtbot, tmp_path / "home")
    next(a for a in w.actions() if a.text() == "Dark").trigger()  # View > Theme > Dark
    assert w.theme.colors.name == "dark"
    assert (
        QGuiApplication.palette().color(QGuiApplication.palette().ColorRole.Window).lightness() < 80
    )
    w.library.set_theme("light")
    assert w.theme.colors.name == "light"
    qtbot.waitUntil(lambda: SettingsFile(tmp_path / "home" / "config").load().theme == "light")


def test_first_run_shows_the_machine_and_the_recommendation(qtbot, tmp_path: Path) -> None:
    w = make_window(qtbot, tmp_path / "home", first_run_done=False)
    assert w.stack.currentWidget() is w.first_run
    assert not w.first_run.demo_button.isVisible()  # no demo model in these resources
    qtbot.waitUntil(lambda: w.first_run.report is not None, timeout=60_000)
    report = w.first_run.report
    assert report.total_ram > 0 and report.cpu_count >= 1
    assert report.backend != "unknown" or report.backend_error
    assert "gpt-oss-20B" in w.first_run.recommend_label.text()
    assert "GB download" in w.first_run.recommend_label.text()
    assert report.verdict in ("fits", "tight", "will_not_fit")
    w.first_run.skip_button.click()
    assert w.stack.currentWidget() is w.chat_page
    qtbot.waitUntil(lambda: SettingsFile(tmp_path / "home" / "config").load().first_run_done)


def test_first_run_demo_button_loads_the_labelled_demo_model(qtbot, tmp_path: Path) -> None:
    from tests.ui.chat_app import story_model

    resources = tmp_path / "resources"
    (resources / "models").mkdir(parents=True)
    demo = resources / "models" / "tiny-harmony.gguf"
    demo.write_bytes(story_model().read_bytes())  # any tiny model stands in for the file here
    assert Resources(resources).demo_model == demo
    w = make_window(qtbot, tmp_path / "home", resources=resources, first_run_done=False)
    assert w.first_run.demo_button.isVisibleTo(w)
    w.first_run.demo_button.click()
    qtbot.waitUntil(lambda: w.engines.current is not None, timeout=30_000)
    assert w.engines.current.label == DEMO_MODEL_LABEL and w.engines.current.is_demo
    assert w.model_picker.combo.currentText() == DEMO_MODEL_LABEL
    assert w.model_picker.demo_badge.isVisibleTo(w)
    assert w.stack.currentWidget() is w.chat_page


@pytest.mark.parametrize("env_dir", [True, False])
def test_resources_are_found_from_the_checkout_or_the_env(tmp_path: Path, env_dir: bool) -> None:
    if env_dir:
        found = Resources.locate({"GPTOSS_RESOURCES": str(tmp_path)})
        assert found.root == tmp_path
    else:
        found = Resources.locate({})
        assert found.root.name == "resources" and found.root.is_dir()


def test_bundled_demo_model_is_the_labelled_harmony_test_model(qtbot, tmp_path: Path) -> None:
    from tests.ui.chat_app import harmony_demo_model, send, set_chat_settings

    demo = Resources.locate().demo_model
    assert demo is not None, "resources/models/tiny-harmony.gguf must ship with the app"
    assert demo.read_bytes() == harmony_demo_model().read_bytes()  # same as the test model
    w = make_window(qtbot, tmp_path / "home", resources=Resources.locate().root)
    w.library.start_with_demo()
    qtbot.waitUntil(lambda: w.engines.current is not None, timeout=30_000)
    assert (
        w.engines.current.label == DEMO_MODEL_LABEL and w.engines.current.runner.kind == "harmony"
    )
    set_chat_settings(w, temperature=0.0, max_tokens=200)
    outcome = send(qtbot, w, "Say hello to Alice.")
    assert outcome.error is None
    assert [r.channel for r in outcome.rows][-1] == "final"
    assert outcome.rows[-1].model == DEMO_MODEL_LABEL  # stored with the demo label


def test_keyboard_shortcuts_and_accessible_names(qtbot, tmp_path: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import (
        QAbstractButton,
        QApplication,
        QComboBox,
        QLineEdit,
        QPlainTextEdit,
    )

    w = make_window(qtbot, tmp_path / "home")
    with qtbot.waitActive(w):
        w.activateWindow()
    qtbot.keyClick(w, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is w.sidebar.search
    qtbot.keyClick(w, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is w.composer.edit
    stopped: list[bool] = []
    w.chat.stop = lambda: stopped.append(True)  # type: ignore[method-assign]
    w.stop_action.triggered.disconnect()
    w.stop_action.triggered.connect(w.chat.stop)
    qtbot.keyClick(w, Qt.Key.Key_Escape)
    assert stopped == [True]
    shortcuts = {a.text(): a.shortcut().toString() for a in w.actions()}
    assert shortcuts["New chat"] == "Ctrl+N" and shortcuts["Search all chats"] == "Ctrl+F"
    # Every control a screen reader reaches has a name: its text or an accessible name.
    unnamed = []
    controls = [
        c
        for kind in (QAbstractButton, QLineEdit, QPlainTextEdit, QComboBox)
        for c in w.chat_page.findChildren(kind)
    ]
    for widget in controls:
        name = widget.accessibleName() or (
            widget.text() if isinstance(widget, QAbstractButton) else ""
        )
        if not name.strip() and widget.isVisibleTo(w):
            unnamed.append(type(widget).__name__)
    assert unnamed == []


def test_model_manager_and_compare_mode_open_from_the_window(qtbot, tmp_path: Path) -> None:
    from tests.ui.chat_app import load_model, story_model

    w = make_window(qtbot, tmp_path / "home")
    load_model(qtbot, w, story_model())
    w.library.open_models_window()
    assert w.library._models_window.isVisible()
    qtbot.waitUntil(lambda: w.model_picker.combo.count() >= 1)
    w.library.show_compare()
    assert w.stack.currentWidget() is w.compare_page
    assert not w.settings_dock.isVisible()
    assert w.compare_page.models[0].model_path == story_model()
    w.show_chat()
    assert w.stack.currentWidget() is w.chat_page and w.settings_dock.isVisible()


def test_errors_read_as_a_line_with_details_and_copy(qtbot) -> None:
    from gptoss_desktop.core.errors import WorkerCrashed
    from gptoss_desktop.ui.errors import Banner, ErrorDialog, describe

    crash = WorkerCrashed(
        "The model worker was killed; load the model again", returncode=-9, stderr_tail=["a", "b"]
    )
    assert describe(crash) == ("The model worker was killed; load the model again", "a\nb")
    try:
        raise KeyError("x")
    except KeyError as exc:
        message, details = describe(exc)
    assert message.startswith("Something went wrong") and "Traceback" in details
    banner = Banner()
    qtbot.addWidget(banner)
    banner.show_error(crash)
    assert banner.kind == "error" and banner.details_button.isVisibleTo(banner)
    dialog = ErrorDialog("Error", message, details)
    qtbot.addWidget(dialog)
    assert dialog.details.isHidden()
    dialog.toggle.click()
    assert not dialog.details.isHidden() and dialog.toggle.text() == "Hide details"
    dialog.copy.click()
    assert QGuiApplication.clipboard().text().startswith(message)
    assert "KeyError" in QGuiApplication.clipboard().text()
