"""Issue 16 (the app as a newcomer meets it): one test per item, on the real window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ui.chat_app import harmony_demo_model, load_model, make_window

pytest.importorskip("llama_cpp", reason="needs llama-cpp-python for the worker")


def picker_paths(w) -> list[str]:
    combo = w.model_picker.combo
    return [str(combo.itemData(i)) for i in range(combo.count())]


# --- item 4: one import path, one model list ------------------------------------------------------
def test_chat_screen_import_refuses_a_broken_gguf_and_keeps_the_working_model(qtbot, tmp_path):
    home = tmp_path / "home"
    w = make_window(qtbot, home)
    demo = harmony_demo_model()
    load_model(qtbot, w, demo)
    working = w.engines.current
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + b"\xff" * 64)
    w.library.import_model(str(broken))
    qtbot.waitUntil(lambda: "broken.gguf" in w.banner.label.text(), timeout=10_000)
    assert w.banner.kind == "error"
    qtbot.wait(300)
    assert w.engines.current is working and working.client.alive and w.engines.loading is None
    assert str(broken) not in picker_paths(w)
    settings = json.loads((home / "config" / "settings.json").read_text())
    assert str(broken) not in json.dumps(settings)
    # the good import is under Models -> Installed, added where it is (no copy)
    installed = w.library.model_library.installed.list()
    assert [m.files for m in installed] == [[str(demo)]] and installed[0].linked
    mw = w.library.models_window()
    assert mw.installed_table.rowCount() == 1
    # compare never gets the broken file as a column
    w.library.show_compare()
    columns = [str(m.model_path) for m in w.compare_page.models]
    assert str(demo) in columns and str(broken) not in columns
    # and the buttons say which import is which
    assert w.sidebar.import_button.text() == "Import chat…"
    assert w.model_picker.import_button.text() == "Add model file…"


def test_a_model_that_fails_to_load_gives_the_working_one_back(qtbot, tmp_path):
    """A file with a sound header that llama.cpp still refuses: the previous model returns."""
    from tests.core.library.ggufgen import write_gptoss_like

    w = make_window(qtbot, tmp_path / "home")
    demo = harmony_demo_model()
    load_model(qtbot, w, demo)
    fake = write_gptoss_like(tmp_path / "header-only.gguf", n_layer=2)
    w.library.import_model(str(fake))
    qtbot.waitUntil(lambda: "header-only.gguf" in w.banner.label.text(), timeout=30_000)
    qtbot.waitUntil(
        lambda: w.engines.current is not None and w.engines.current.path == str(demo),
        timeout=30_000,
    )


# --- item 6: context honesty ---------------------------------------------------------------------
def test_context_says_the_demo_model_runs_at_its_training_length(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path / "home")
    load_model(qtbot, w, harmony_demo_model())
    info = w.engines.current.info
    assert info.n_ctx_train == 1024 and info.n_ctx == 1024
    assert w.chat.settings.context_length == 8192  # what the chat asks for
    panel = w.settings_panel
    assert panel.context_note.isVisibleTo(w)
    assert "trained for at most 1,024 tokens" in panel.context_note.text()
    state = w.model_picker.state_label.full_text()
    assert "1,024-token context (its training length; 8,192 was asked)" in state
    # lengths the model cannot have are not offered
    model = panel.context.model()
    for i in range(panel.context.count()):
        assert model.item(i).isEnabled() == (int(panel.context.itemData(i)) <= 1024)
    # the context warning does not offer "Larger context"
    from gptoss_desktop.core.errors import ContextOverflow

    w.library.offer_context_choices(
        ContextOverflow("This chat needs 1,200 tokens.", needed=1200, available=1024)
    )
    keys = [b.objectName() for b in w.banner.findChildren(type(w.banner.details_button))]
    assert "banner-action-drop" in keys and "banner-action-larger" not in keys
    assert "trained for at most 1,024 tokens" in w.banner.label.text()


# --- item 7: clipped and hidden things -------------------------------------------------------------
def _contrast_pixels(image, rect, background) -> int:
    """Pixels in ``rect`` of ``image`` far from ``background`` (lightness difference > 60)."""
    from PySide6.QtGui import QColor

    bg = QColor(background).lightness()
    n = 0
    for x in range(rect.left(), rect.right()):
        for y in range(rect.top(), rect.bottom()):
            if abs(image.pixelColor(x, y).lightness() - bg) > 60:
                n += 1
    return n


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_spin_arrows_and_check_boxes_are_visible(qtbot, tmp_path, theme):
    from PySide6.QtCore import QRect

    w = make_window(qtbot, tmp_path / "home", theme=theme)
    colors = w.theme.apply(theme)
    w.library.show_compare()
    tb = w.compare_page.toolbar
    sync = w.compare_page.sync_box
    spin = w.compare_page.column_count
    qtbot.waitUntil(lambda: sync.isVisible() and spin.isVisible())
    box = sync.grab().toImage()
    indicator = QRect(0, 0, min(22, box.width()), box.height())
    assert _contrast_pixels(box, indicator, colors.window) >= 20, tb  # its outline shows
    arrows = spin.grab().toImage()
    right = QRect(arrows.width() - 18, 2, 16, arrows.height() - 4)
    assert _contrast_pixels(arrows, right, colors.window) >= 12  # the up and down marks


def test_long_state_lines_are_elided_with_the_whole_line_in_the_tooltip(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path / "home")
    w.resize(1024, 700)
    label = w.model_picker.state_label
    text = "Loaded · CPU · 131,072-token context (its training length; 262,144 was asked)"
    label.setText(text)
    label.resize(120, label.height())
    assert label.shown_text().endswith("…") and label.toolTip() == text


def test_compare_metrics_say_tokens_in_words():
    from gptoss_desktop.core.compare.metrics import ColumnMetrics

    line = ColumnMetrics(ttft_s=0.12, tokens_per_s=35.2, tokens=33).summary()
    assert line == "first token after 120 ms · 35.2 tokens/s · 33 tokens"
    assert ColumnMetrics(tokens=1).summary() == "1 token"


def test_search_results_are_not_cut_and_say_where_in_words(qtbot, tmp_path):
    from gptoss_desktop.core.store.records import SearchHit

    w = make_window(qtbot, tmp_path / "home")
    w.resize(1024, 700)
    bar = w.sidebar
    bar.search.setText("otter")
    long = "the \x01otter\x02 " + "swims and floats and dives " * 12
    hits = [
        SearchHit(1, "Sea animals", 5, "assistant", "final", long, 1.0),
        SearchHit(1, "Sea animals", 6, "assistant", "analysis", long, 1.0),
    ]
    bar.show_results("otter", hits)
    for i in range(bar.results.count()):
        item = bar.results.item(i)
        label = bar.results.itemWidget(item)
        width = item.sizeHint().width()
        assert item.sizeHint().height() >= label.heightForWidth(width)
    texts = [bar.results.itemWidget(bar.results.item(i)).text() for i in range(2)]
    assert "(answer)" in texts[0] and "(reasoning)" in texts[1]
    assert "(final)" not in "".join(texts) and "(analysis)" not in "".join(texts)


def test_leaderboard_shows_long_names_without_a_sideways_scrollbar(qtbot, tmp_path):
    from gptoss_desktop.core.compare.ratings import Standing
    from gptoss_desktop.ui.compare.leaderboard import LeaderboardDialog

    name = "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF/Meta-Llama-3.1-8B-Instruct-Q4_K_M"
    dialog = LeaderboardDialog([Standing(name, 1016.0, 3, 2, 1, 0, 0)])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    table = dialog.table
    assert not table.horizontalScrollBar().isVisible()
    # the whole name shows, or the dialog is as wide as the screen allows (then the name is
    # elided in the middle, whole in its tooltip)
    screen = dialog.screen().availableGeometry().width()
    fits = table.columnWidth(1) >= table.fontMetrics().horizontalAdvance(name)
    assert fits or dialog.width() >= screen - 80
    assert table.item(0, 1).toolTip() == name


def test_the_edit_box_opens_in_view(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path / "home")
    w.resize(1024, 700)
    chat = w.store.conversations.create("Long chat")
    for i in range(12):
        w.store.messages.append(chat.id, "user", f"Question {i}: " + "words " * 80)
        w.store.messages.append(chat.id, "assistant", f"Answer {i}: " + "more " * 120)
    w.chat.open(chat.id)
    qtbot.waitUntil(lambda: len(w.chat_view.turn_widgets()) >= 24, timeout=10_000)
    w.chat_view.scroll_to_bottom()
    qtbot.wait(50)
    first = w.chat_view.turn_widgets()[0]
    first.begin_edit()
    viewport = w.chat_view.viewport()

    def save_button_in_view() -> bool:
        top_left = first.edit_row.mapTo(viewport, first.edit_row.rect().topLeft())
        return top_left.y() >= 0 and top_left.y() + first.edit_row.height() <= viewport.height()

    qtbot.waitUntil(save_button_in_view, timeout=3_000)
    assert first.editor.hasFocus() or first.editor.isVisible()


def test_model_manager_opens_on_the_screen(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path / "home")
    w.library.open_models_window()
    mw = w.library.models_window()
    area = mw.screen().availableGeometry()
    frame = mw.frameGeometry()
    assert area.contains(frame.topLeft()) and frame.bottom() <= area.bottom() + 1


def test_finished_downloads_can_be_cleared_and_do_not_say_resolving(qtbot, tmp_path):
    from gptoss_desktop.core.library import TaskSnapshot

    w = make_window(qtbot, tmp_path / "home")
    mw = w.library.models_window()
    failed = TaskSnapshot(
        7,
        "org/x-GGUF",
        "x.gguf",
        "main",
        "X",
        "failed",
        phase="resolving",
        error="not found on the hub",
    )
    mw.on_task(replace_state(failed, "running"))
    mw.on_task(failed)
    bar = mw.downloads_table.cellWidget(0, 1)
    assert bar.format() == "Failed" and "resolving" not in bar.format().lower()
    assert not mw.banner.isHidden()
    mw.on_task(replace_state(failed, "running"))  # resumed: the old error goes
    assert mw.banner.isHidden()
    mw.on_task(replace_state(failed, "cancelled"))
    mw.clear_finished()
    assert mw.downloads_table.rowCount() == 0


def replace_state(snap, state):
    from dataclasses import replace

    return replace(snap, state=state)


# --- item 8: blind mode hides what would name a model ---------------------------------------------
def test_blind_columns_hide_reasoning_and_memory_until_the_vote(qtbot):
    from gptoss_desktop.core.compare.metrics import ColumnMetrics
    from gptoss_desktop.core.compare.runner import ColumnSetup
    from gptoss_desktop.ui.compare.column_widget import CompareColumnWidget
    from gptoss_desktop.ui.compare.metrics_chart import MetricsChart

    col = CompareColumnWidget(0, [ColumnSetup(harmony_demo_model(), label="m")])
    qtbot.addWidget(col)
    col.show()
    col.set_blind(True)
    col.append_text("analysis", "x" * 72)
    col.append_text("final", "Hello")
    col.set_metrics(ColumnMetrics(tokens=5, peak_rss_bytes=2_400_000_000))
    assert not col.reasoning_toggle.isVisible() and not col.reasoning.isVisible()
    assert "GB" not in col.metrics_label.text()
    col.set_blind(False)
    assert col.reasoning_toggle.isVisible() and "72 characters" in col.reasoning_toggle.text()
    assert "2.4 GB" in col.metrics_label.text()
    chart = MetricsChart()
    chart.set_data(
        ["A", "B"], [ColumnMetrics(peak_rss_bytes=10**9), ColumnMetrics(peak_rss_bytes=2 * 10**9)]
    )
    chart.blind = True
    memory = next(r for r in chart.rows() if r[0] == "Peak memory")
    assert memory[1] == [None, None]
    chart.blind = False
    memory = next(r for r in chart.rows() if r[0] == "Peak memory")
    assert memory[1] == [1e9, 2e9]


def test_compare_answers_never_show_marker_tokens():
    """A TinyStories model writes <|end_story|> at a story's end (as ordinary tokens)."""
    from gptoss_desktop.core.engine import EngineClient, LoadOptions, SamplingOptions
    from gptoss_desktop.core.templating.session import TemplateChatSession
    from tests.helpers import shared_model

    path = shared_model("TinyStories-656K-Q8_0.gguf")
    with EngineClient.start(path, LoadOptions(n_ctx=512, n_threads=1)) as engine:
        session = TemplateChatSession(
            engine, sampling=SamplingOptions(temperature=0.0), max_tokens=400
        )
        assert "<|end_story|>" in session.builder.marker_literals
        deltas: list[str] = []
        result = session.send(
            "Once upon a time",
            on_event=lambda e: deltas.append(getattr(e, "text", "") or ""),
        )
    assert result.generations and "".join(deltas)
    assert "<|end_story|>" not in "".join(deltas)
    assert "<|" not in session.messages[-1].content


# --- item 9: small things ---------------------------------------------------------------------------
def test_rename_updates_the_window_title(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path / "home")
    chat = w.store.conversations.create("First title")
    w.chat.open(chat.id)
    qtbot.waitUntil(lambda: w.windowTitle() == "First title · gpt-oss Desktop", timeout=5_000)
    w.library.rename_chat(chat.id, "Otters and rivers")
    qtbot.waitUntil(lambda: w.windowTitle() == "Otters and rivers · gpt-oss Desktop", timeout=5_000)
    assert w.chat.conversation.title == "Otters and rivers"


def test_export_suggests_the_chat_title_in_documents(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QStandardPaths
    from PySide6.QtWidgets import QFileDialog

    w = make_window(qtbot, tmp_path / "home")
    chat = w.store.conversations.create("Trip: Oslo / Bergen?")
    docs = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation))
    seen: list[str] = []
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *a, **k: (seen.append(a[2]) or "", "")
    )
    w.library.ask_export(chat.id, "markdown")
    suggested = Path(seen[0])
    assert suggested.name == "Trip Oslo Bergen.md"
    assert suggested.parent == (docs if docs.is_dir() else Path.home())
    assert w.library.export_suggestion(chat.id, "json").suffix == ".json"


def test_plain_words_in_what_people_read():
    from keyring.backends import fail

    from gptoss_desktop.core.library.token_store import backend_refusal
    from gptoss_desktop.ui.tools.trace import TOOL_CALL, TraceEntry
    from gptoss_desktop.ui.tools.trace_view import row_heading

    said = backend_refusal(fail.Keyring()) or ""
    assert "keychain" in said and "fail/null" not in said and "backend" not in said
    entry = TraceEntry(
        kind=TOOL_CALL,
        author="assistant",
        channel="commentary",
        recipient="functions.get_weather",
        content_type="<|constrain|>json",
    )
    heading = row_heading(entry)
    assert "JSON arguments" in heading and "constrain" not in heading


def test_closing_says_so_before_it_waits(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path / "home")
    load_model(qtbot, w, harmony_demo_model())
    seen: list[tuple[bool, str]] = []
    original = w.engines.close

    def close() -> None:
        seen.append((w.banner.isVisible(), w.banner.label.text()))
        original()

    w.engines.close = close
    w.close()
    assert seen and seen[0][0] and seen[0][1].startswith("Closing")


# --- item 12: one name, the desktop file's id ---------------------------------------------------------
def test_one_app_name_and_the_wayland_app_id_matches_the_desktop_file(qtbot, tmp_path):
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from gptoss_desktop.app import name_application
    from gptoss_desktop.resources import APP_TITLE, DESKTOP_FILE_ID
    from tests.helpers import ROOT

    name_application(QApplication.instance())
    assert QGuiApplication.desktopFileName() == DESKTOP_FILE_ID
    desktop = ROOT / "resources" / "linux" / f"{DESKTOP_FILE_ID}.desktop"
    assert f"Name={APP_TITLE}\n" in desktop.read_text()
    w = make_window(qtbot, tmp_path / "home", first_run_done=False)
    assert w.windowTitle() == APP_TITLE
    from PySide6.QtWidgets import QLabel

    labels = [lbl.text() for lbl in w.first_run.findChildren(QLabel)]
    assert any(f"Welcome to {APP_TITLE}" in t for t in labels)
    assert not any("gptoss-desktop" in t for t in labels)


# --- README and docs name the menus as they are ---------------------------------------------------
def test_readme_and_docs_name_the_real_menus(qtbot, tmp_path):
    import re

    from tests.helpers import ROOT

    w = make_window(qtbot, tmp_path / "home")
    assert w.tools is not None  # attaches the tool panel, which adds its View entries
    menus: dict[str, list[str]] = {}
    for action in w.menuBar().actions():
        menu = action.menu()
        if menu is not None:
            name = action.text().replace("&", "")
            menus[name] = [a.text().replace("&", "") for a in menu.actions() if a.text()]
    assert {"File", "Chat", "View", "Models"} <= set(menus)
    pattern = re.compile(r"\b(File|Chat|View|Models) → (.{1,80})")
    checked = 0
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = " ".join(doc.read_text(encoding="utf-8").split())  # lines wrap inside names
        for line in [text]:
            for menu, rest in pattern.findall(line):
                rest = rest.replace("**", "")
                # "Tools for this chat…" may be written without its ellipsis in a sentence
                assert any(rest.startswith(item.rstrip("…")) for item in menus[menu]), (
                    f"{doc.name}: '{menu} → {rest[:40]}' is not a menu entry; {menu} has "
                    f"{menus[menu]}"
                )
                checked += 1
    assert checked >= 8


# --- item 2: tool calls shown once after a restart or a chat switch ---------------------------------
def _weather_chat(store, title: str = "Weather") -> int:
    chat = store.conversations.create(title)
    store.messages.append(chat.id, "user", "What is the weather in Oslo?")
    store.messages.append(
        chat.id,
        "assistant",
        '{"location": "Oslo"}',
        channel="commentary",
        recipient="functions.get_weather",
        content_type="<|constrain|>json",
    )
    store.messages.append(
        chat.id,
        "tool",
        '{"temperature": 3}',
        author_name="functions.get_weather",
        channel="commentary",
    )
    store.messages.append(chat.id, "assistant", "It is 3°C in Oslo.", channel="final")
    return chat.id


def test_tool_calls_are_shown_once_when_a_chat_is_reopened(qtbot, tmp_path):
    from gptoss_desktop.ui.message_widget import ToolCallView

    w = make_window(qtbot, tmp_path / "home")
    weather = _weather_chat(w.store)
    other = w.store.conversations.create("Other").id
    w.store.messages.append(other, "user", "Hello")
    for chat_id in (weather, other, weather):  # opened, switched away, opened again
        w.chat.open(chat_id)
        qtbot.waitUntil(
            lambda c=chat_id: w.chat.conversation is not None and w.chat.conversation.id == c,
            timeout=5_000,
        )
    qtbot.wait(50)
    views = [v for v in w.chat_view.findChildren(ToolCallView) if v.isVisibleTo(w)]
    texts = sorted(v.text() for v in views)
    assert texts == [
        'Result from functions.get_weather: {"temperature": 3}',
        'Tool call to functions.get_weather: {"location": "Oslo"}',
    ]


# --- item 5: the tool panel follows the open chat --------------------------------------------------
def test_the_tool_panel_shows_the_open_chats_turn_only(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path / "home")
    first = _weather_chat(w.store, "First")
    second = w.store.conversations.create("Second").id
    w.store.messages.append(second, "user", "Hello")
    recorder, panel = w.tools.recorder, w.tools.panel
    w.chat.open(first)
    qtbot.waitUntil(lambda: w.chat.conversation is not None, timeout=5_000)
    recorder.begin_turn("What is the weather in Oslo?", chat=str(first))
    recorder.end_turn("final")
    panel.refresh()
    assert [e.text for e in panel.trace.entries][:1] == ["What is the weather in Oslo?"]
    w.chat.open(second)
    qtbot.waitUntil(lambda: getattr(w.chat.conversation, "id", None) == second, timeout=5_000)
    panel.refresh()
    assert panel.trace.entries == []  # not the other chat's turn
    w.chat.open(first)
    qtbot.waitUntil(lambda: getattr(w.chat.conversation, "id", None) == first, timeout=5_000)
    panel.refresh()
    assert [e.text for e in panel.trace.entries][:1] == ["What is the weather in Oslo?"]
    w.new_chat()
    panel.refresh()
    assert panel.trace.entries == []


# --- item 3: Send loads the picked model; a restart reopens the last chat -------------------------
def _resources_with_demo(tmp_path) -> Path:
    resources = tmp_path / "resources"
    (resources / "models").mkdir(parents=True)
    (resources / "models" / "tiny-harmony.gguf").write_bytes(harmony_demo_model().read_bytes())
    return resources


def test_send_loads_the_picked_model_then_sends(qtbot, tmp_path):
    from PySide6.QtCore import Qt

    resources = _resources_with_demo(tmp_path)
    w = make_window(qtbot, tmp_path / "home", resources=resources)
    qtbot.waitUntil(lambda: w.model_picker.current_path() is not None, timeout=10_000)
    assert w.engines.current is None
    send = w.composer.send_button
    assert send.isEnabled() and send.toolTip().startswith("Loads ")
    with qtbot.waitSignal(w.chat.sig_turn_finished, timeout=60_000):
        w.composer.edit.setPlainText("What is the capital of France?")
        qtbot.keyClick(w.composer.edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: w.engines.loading is not None or w.engines.current is not None)
        assert not send.isEnabled()  # one message at a time while the model loads
    assert w.engines.current is not None
    turns = w.chat.snapshot.turns
    assert turns[0].first.content == "What is the capital of France?" and len(turns) == 2
    assert w.composer.edit.toPlainText() == ""


def test_with_nothing_to_load_send_is_visibly_off(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path / "home")
    qtbot.wait(400)  # the model list has been read (empty)
    assert w.model_picker.current_path() is None
    assert not w.composer.send_button.isEnabled()
    assert "Models" in w.composer.send_button.toolTip()


def test_a_restart_reopens_the_last_chat_and_offers_its_model(qtbot, tmp_path):
    resources = _resources_with_demo(tmp_path)
    home = tmp_path / "home"
    w = make_window(qtbot, home, resources=resources)
    load_model(qtbot, w, harmony_demo_model())
    chat = w.store.conversations.create("Kept open")
    w.chat.open(chat.id)
    qtbot.waitUntil(lambda: w.chat.conversation is not None, timeout=5_000)
    qtbot.waitUntil(lambda: w.tasks.pending == 0, timeout=5_000)
    w.close()
    again = make_window(qtbot, home, resources=resources)
    qtbot.waitUntil(
        lambda: again.chat.conversation is not None and again.chat.conversation.id == chat.id,
        timeout=10_000,
    )
    qtbot.waitUntil(lambda: "Last time you used" in again.banner.label.text(), timeout=10_000)
    button = again.banner.findChild(type(again.banner.details_button), "banner-action-load_last")
    button.click()
    qtbot.waitUntil(lambda: again.engines.current is not None, timeout=60_000)
