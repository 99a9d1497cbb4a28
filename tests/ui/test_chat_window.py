"""The real window, the real worker, a tiny real model: send, stream, stop, regenerate,
edit and resend with branch switch, close while generating."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from tests.ui.chat_app import (
    STORY_GREEDY,
    assistant_widgets,
    harmony_demo_model,
    load_model,
    make_window,
    send,
    set_chat_settings,
    story_model,
    user_widgets,
)


def test_send_streams_in_batches_and_saves(qtbot, tmp_path: Path) -> None:
    from gptoss_desktop.core.chat.recorder import RowDelta

    model = story_model()
    w = make_window(qtbot, tmp_path / "home")
    load_model(qtbot, w, model)
    set_chat_settings(w, temperature=0.0, max_tokens=120)
    flushes: list[int] = []
    apply = w.chat_view.apply

    def counting(items):  # how many view updates carried new text
        if any(isinstance(i, RowDelta) for i in items):
            flushes.append(len(items))
        apply(items)

    w.chat_view.apply = counting
    outcome = send(qtbot, w, "Once upon a time")
    assert outcome.error is None and not outcome.cancelled
    answer = assistant_widgets(w)[-1]
    assert answer.answer_text().startswith(STORY_GREEDY)
    assert len(flushes) >= 1
    # Saved: the user's message and the answer, complete, with metrics.
    chat = w.chat.conversation
    thread = w.store.messages.active_path(chat.id)
    assert [m.role for m in thread] == ["user", "assistant"]
    assert thread[0].content == "Once upon a time"
    assert thread[1].content == answer.answer_text()
    assert thread[1].status == "complete"
    assert thread[1].metrics["completion_tokens"] == 120
    assert "120 tokens" in answer.metrics_label.text()
    assert "tokens/s" in answer.metrics_label.text()
    # The chat got a title from the message and is listed.
    assert chat.title == "Once upon a time"
    qtbot.waitUntil(lambda: w.sidebar.list.count() == 1)
    assert w.composer.send_button.isVisible() and not w.composer.stop_button.isVisible()


def test_shift_enter_makes_a_new_line_and_enter_sends(qtbot, tmp_path: Path) -> None:
    w = make_window(qtbot, tmp_path / "home")
    # a model is picked (Send loads it first); with none at all Send is off (issue 16 item 3)
    w.model_picker.set_models([("tiny-harmony", str(harmony_demo_model()))])
    sent: list[str] = []
    w.composer.sig_send.connect(sent.append)
    w.composer.edit.setFocus()
    qtbot.keyClicks(w.composer.edit, "one")
    qtbot.keyClick(w.composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(w.composer.edit, "two")
    assert w.composer.edit.toPlainText() == "one\ntwo"
    qtbot.keyClick(w.composer.edit, Qt.Key.Key_Return)
    assert sent == ["one\ntwo"]


def test_stop_ends_the_answer_and_keeps_what_was_written(qtbot, tmp_path: Path) -> None:
    model = story_model()
    w = make_window(qtbot, tmp_path / "home")
    load_model(qtbot, w, model)
    set_chat_settings(w, temperature=0.0, max_tokens=None)  # would run to the full context
    w.composer.edit.setPlainText("Once upon a time")
    with qtbot.waitSignal(w.chat.sig_turn_finished, timeout=30_000) as blocker:
        w.composer.submit()
        assert w.composer.stop_button.isVisible()
        qtbot.waitUntil(
            lambda: bool(assistant_widgets(w) and assistant_widgets(w)[-1].answer_text())
        )
        qtbot.mouseClick(w.composer.stop_button, Qt.MouseButton.LeftButton)
    outcome = blocker.args[0]
    assert outcome.cancelled and outcome.error is None
    row = w.store.messages.get(outcome.rows[-1].id)
    assert row.status == "cancelled"
    assert 0 < row.metrics["completion_tokens"] < 2000
    answer = assistant_widgets(w)[-1]
    assert answer.answer_text() == row.content
    assert answer.status_label.text() == "Stopped"
    # The model is still usable after a stop.
    set_chat_settings(w, max_tokens=8)
    again = send(qtbot, w, "The dog")
    assert again.error is None and again.rows[-1].status == "complete"


def test_regenerate_keeps_the_earlier_answer_as_a_version(qtbot, tmp_path: Path) -> None:
    model = story_model()
    w = make_window(qtbot, tmp_path / "home")
    load_model(qtbot, w, model)
    set_chat_settings(w, temperature=0.0, max_tokens=30)
    send(qtbot, w, "Once upon a time")
    first = assistant_widgets(w)[-1].answer_text()
    set_chat_settings(w, temperature=1.5, seed=7, max_tokens=30)
    with qtbot.waitSignal(w.chat.sig_turn_finished, timeout=30_000):
        qtbot.mouseClick(assistant_widgets(w)[-1].regenerate_button, Qt.MouseButton.LeftButton)
    second_widget = assistant_widgets(w)[-1]
    second = second_widget.answer_text()
    assert second and second != first
    assert len(assistant_widgets(w)) == 1
    qtbot.waitUntil(lambda: assistant_widgets(w)[-1].versions.label.text() == "2/2")
    # Back to the first version: its text is shown again, from the database.
    with qtbot.waitSignal(w.chat.sig_conversation, timeout=10_000):
        qtbot.mouseClick(assistant_widgets(w)[-1].versions.prev, Qt.MouseButton.LeftButton)
    assert assistant_widgets(w)[-1].answer_text() == first
    assert assistant_widgets(w)[-1].versions.label.text() == "1/2"


def test_edit_and_resend_then_switch_back(qtbot, tmp_path: Path) -> None:
    model = story_model()
    w = make_window(qtbot, tmp_path / "home")
    load_model(qtbot, w, model)
    set_chat_settings(w, temperature=0.0, max_tokens=20)
    send(qtbot, w, "Once upon a time")
    old_answer = assistant_widgets(w)[-1].answer_text()
    user = user_widgets(w)[0]
    qtbot.mouseClick(user.edit_button, Qt.MouseButton.LeftButton)
    assert user.editor.isVisible()
    qtbot.waitUntil(lambda: not user.save_button.visibleRegion().isEmpty())  # laid out, clickable
    user.editor.setPlainText("The cat")
    with qtbot.waitSignal(w.chat.sig_turn_finished, timeout=30_000):
        qtbot.mouseClick(user.save_button, Qt.MouseButton.LeftButton)
    assert [u.plain_text() for u in user_widgets(w)] == ["The cat"]
    new_answer = assistant_widgets(w)[-1].answer_text()
    assert new_answer and new_answer != old_answer
    qtbot.waitUntil(lambda: user_widgets(w)[0].versions.label.text() == "2/2")
    with qtbot.waitSignal(w.chat.sig_conversation, timeout=10_000):
        qtbot.mouseClick(user_widgets(w)[0].versions.prev, Qt.MouseButton.LeftButton)
    assert user_widgets(w)[0].plain_text() == "Once upon a time"
    assert assistant_widgets(w)[-1].answer_text() == old_answer
    # And forward again.
    with qtbot.waitSignal(w.chat.sig_conversation, timeout=10_000):
        qtbot.mouseClick(user_widgets(w)[0].versions.next, Qt.MouseButton.LeftButton)
    assert user_widgets(w)[0].plain_text() == "The cat"
    assert assistant_widgets(w)[-1].answer_text() == new_answer


def test_closing_the_window_while_generating_stops_cleanly(qtbot, tmp_path: Path) -> None:
    model = story_model()
    w = make_window(qtbot, tmp_path / "home")
    load_model(qtbot, w, model)
    set_chat_settings(w, temperature=0.0, max_tokens=None)
    client = w.engines.current.client
    w.composer.edit.setPlainText("Once upon a time")
    w.composer.submit()
    qtbot.waitUntil(lambda: bool(assistant_widgets(w) and assistant_widgets(w)[-1].answer_text()))
    job = w.chat.job
    assert job is not None and job.running
    w.close()
    assert not job.running
    assert not client.alive
    rows = job.outcome.rows
    assert rows and w.store.messages.get(rows[-1].id).status == "cancelled"


def test_sending_without_a_model_says_what_to_do(qtbot, tmp_path: Path) -> None:
    w = make_window(qtbot, tmp_path / "home")
    w.composer.set_ready(True)
    w.composer.edit.setPlainText("hello")
    w.composer.submit()
    assert w.banner.isVisible()
    assert "No model is loaded" in w.banner.label.text()
    assert w.composer.edit.toPlainText() == "hello"  # nothing the user wrote is lost
    assert assistant_widgets(w) == []
