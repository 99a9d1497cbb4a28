"""History in the window: restart restores it, search across chats, export and import,
delete with undo, rename and pin."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt

from tests.ui.chat_app import (
    STORY_GREEDY,
    assistant_widgets,
    load_model,
    make_window,
    send,
    set_chat_settings,
    story_model,
    user_widgets,
)


def _chat_with_story(qtbot, home: Path, text: str = "Once upon a time", tokens: int = 30):
    w = make_window(qtbot, home)
    load_model(qtbot, w, story_model())
    set_chat_settings(w, temperature=0.0, max_tokens=tokens)
    send(qtbot, w, text)
    return w


def test_restart_restores_chats_and_the_open_thread(qtbot, tmp_path: Path) -> None:
    home = tmp_path / "home"
    w = _chat_with_story(qtbot, home)
    answer = assistant_widgets(w)[-1].answer_text()
    chat_id = w.chat.conversation.id
    w.close()
    w.store.close()

    again = make_window(qtbot, home)
    qtbot.waitUntil(lambda: again.sidebar.list.count() == 1)
    item = again.sidebar.list.item(0)
    assert item.text() == "Once upon a time"
    # The chat that was open when the app closed opens again by itself (issue 16 item 3);
    # clicking it in the list shows the same thread.
    qtbot.waitUntil(lambda: again.chat.conversation is not None, timeout=10_000)
    assert again.chat.conversation.id == chat_id
    qtbot.mouseClick(
        again.sidebar.list.viewport(),
        Qt.MouseButton.LeftButton,
        pos=again.sidebar.list.visualItemRect(item).center(),
    )
    qtbot.wait(100)
    assert again.chat.conversation.id == chat_id
    assert [u.plain_text() for u in user_widgets(again)] == ["Once upon a time"]
    restored = assistant_widgets(again)[-1]
    assert restored.answer_text() == answer
    assert answer.startswith(STORY_GREEDY)
    assert "30 tokens" in restored.metrics_label.text()
    # The settings of the chat come back with it.
    assert again.settings_panel.settings().max_tokens == 30
    assert again.settings_panel.settings().temperature == 0.0


def test_search_finds_words_in_every_chat_and_opens_the_hit(qtbot, tmp_path: Path) -> None:
    w = _chat_with_story(qtbot, tmp_path / "home", "Once upon a time", 20)
    first_chat = w.chat.conversation.id
    w.new_chat()
    set_chat_settings(w, temperature=0.0, max_tokens=10)
    send(qtbot, w, "The purple giraffe walked")
    second_chat = w.chat.conversation.id
    assert first_chat != second_chat
    w.focus_search()
    qtbot.keyClicks(w.sidebar.search, "girl")
    qtbot.waitUntil(lambda: w.sidebar.results.count() > 0, timeout=5000)
    hits = [
        w.sidebar.results.item(i).data(Qt.ItemDataRole.UserRole)
        for i in range(w.sidebar.results.count())
    ]
    assert {h.conversation_id for h in hits} == {first_chat}  # "little girl named Lily"
    assert w.sidebar.list.isHidden()
    with qtbot.waitSignal(w.chat.sig_conversation, timeout=10_000):
        item = w.sidebar.results.item(0)
        qtbot.mouseClick(
            w.sidebar.results.viewport(),
            Qt.MouseButton.LeftButton,
            pos=w.sidebar.results.visualItemRect(item).center(),
        )
    assert w.chat.conversation.id == first_chat
    w.sidebar.search.clear()
    w.sidebar.search.setText("giraffe")
    qtbot.waitUntil(
        lambda: (
            w.sidebar.results.count() > 0
            and all(
                w.sidebar.results.item(i).data(Qt.ItemDataRole.UserRole).conversation_id
                == second_chat
                for i in range(w.sidebar.results.count())
            )
        ),
        timeout=5000,
    )
    w.sidebar.search.setText("zzzqqq")
    qtbot.waitUntil(lambda: w.sidebar.results_label.text() == "No matches", timeout=5000)


def test_export_json_and_markdown_then_import(qtbot, tmp_path: Path) -> None:
    w = _chat_with_story(qtbot, tmp_path / "home")
    chat_id = w.chat.conversation.id
    answer = assistant_widgets(w)[-1].answer_text()
    json_path, md_path = tmp_path / "chat.json", tmp_path / "chat.md"
    done: list[Path] = []
    w.library.export_chat(chat_id, "json", json_path, done.append)
    w.library.export_chat(chat_id, "markdown", md_path, done.append)
    qtbot.waitUntil(lambda: len(done) == 2)
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert json.dumps(data).count("Once upon a time") >= 1
    markdown = md_path.read_text(encoding="utf-8")
    assert "Once upon a time" in markdown and answer.strip()[:30] in markdown
    opened: list[bool] = []
    w.library.import_chat(json_path, lambda: opened.append(True))
    qtbot.waitUntil(lambda: bool(opened), timeout=10_000)
    imported = w.chat.conversation
    assert imported.id != chat_id
    assert [u.plain_text() for u in user_widgets(w)] == ["Once upon a time"]
    assert assistant_widgets(w)[-1].answer_text() == answer
    qtbot.waitUntil(lambda: w.sidebar.list.count() == 2)


def test_import_of_a_broken_file_is_a_banner_not_a_crash(qtbot, tmp_path: Path) -> None:
    w = make_window(qtbot, tmp_path / "home")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    w.library.import_chat(bad)
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=5000)
    assert w.banner.kind == "error"
    assert w.chat.conversation is None


def test_delete_chat_then_undo_rename_and_pin(qtbot, tmp_path: Path) -> None:
    w = _chat_with_story(qtbot, tmp_path / "home", tokens=5)
    chat_id = w.chat.conversation.id
    w.new_chat()
    set_chat_settings(w, temperature=0.0, max_tokens=5)
    send(qtbot, w, "The dog")
    qtbot.waitUntil(lambda: w.sidebar.list.count() == 2)
    w.sidebar.sig_delete.emit(chat_id)
    qtbot.waitUntil(lambda: w.sidebar.list.count() == 1)
    assert w.banner.isVisible() and "Deleted" in w.banner.label.text()
    undo = w.banner.findChild(type(w.banner.details_button), "banner-action-undo_delete")
    qtbot.mouseClick(undo, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.sidebar.list.count() == 2)
    w.sidebar.sig_rename.emit(chat_id, "Lily's story")
    qtbot.waitUntil(lambda: any(w.sidebar.list.item(i).text() == "Lily's story" for i in range(2)))
    w.sidebar.sig_pin.emit(chat_id, True)
    qtbot.waitUntil(lambda: w.sidebar.list.item(0).text() == "📌 Lily's story")
    assert w.store.conversations.get(chat_id).pinned
