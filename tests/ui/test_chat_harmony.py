"""Harmony models in the window: channels become reasoning and answer, stored per channel;
the context meter and the choices when a chat would not fit."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from gptoss_desktop.ui.markdown_view import MarkdownView
from gptoss_desktop.ui.message_widget import ReasoningSection, ToolCallView
from tests.helpers import project_model
from tests.ui.chat_app import (
    assistant_widgets,
    harmony_demo_model,
    load_model,
    make_window,
    send,
    set_chat_settings,
    story_model,
)


def test_harmony_turn_rows_and_view_parts_match_per_channel(qtbot, tmp_path: Path) -> None:
    """Random weights say nothing sensible, but every message they emit must be stored
    on its channel and shown in the matching part, text identical."""
    w = make_window(qtbot, tmp_path / "home")
    load_model(qtbot, w, project_model("tiny-gptoss-random.gguf"))
    assert w.engines.current.runner.kind == "harmony"
    set_chat_settings(w, temperature=0.0, max_tokens=200, reasoning_effort="high")
    outcome = send(qtbot, w, "What is the weather in Oslo?")
    assert outcome.error is None
    rows = [w.store.messages.get(r.id) for r in outcome.rows]
    assert rows, "the model produced at least one message"
    turn = assistant_widgets(w)[-1]
    assert list(turn.parts) == [r.id for r in rows]
    for row in rows:
        part = turn.parts[row.id]
        if row.role == "tool" or (row.recipient and row.recipient != "all"):
            assert isinstance(part, ToolCallView)
        elif row.channel in ("analysis", "commentary"):
            assert isinstance(part, ReasoningSection)
            assert part.view.text == row.content
        else:
            assert isinstance(part, MarkdownView)
            assert part.text == row.content
        assert row.status in ("complete", "cancelled")
    assert len({r.turn_id for r in rows}) == 1
    assert outcome.result.context_used > 0
    assert w.context_meter.used == outcome.result.context_used


def test_reasoning_streams_apart_from_the_answer(qtbot, tmp_path: Path, monkeypatch) -> None:
    from gptoss_desktop.ui.assistant_turn import AssistantTurnWidget

    model = harmony_demo_model()
    w = make_window(qtbot, tmp_path / "home")
    load_model(qtbot, w, model)
    set_chat_settings(w, temperature=0.0, max_tokens=400)
    seen_live: list[bool] = []
    original_append = AssistantTurnWidget.append

    def watch(turn: AssistantTurnWidget, message_id: int, text: str) -> None:
        # the state of the reasoning section at the moment streamed reasoning reaches it
        part = turn.parts.get(message_id)
        if isinstance(part, ReasoningSection):
            seen_live.append(part.expanded)
        original_append(turn, message_id, text)

    monkeypatch.setattr(AssistantTurnWidget, "append", watch)
    outcome = send(qtbot, w, "What is the capital of France?")
    assert outcome.error is None
    channels = [r.channel for r in outcome.rows]
    assert channels[0] == "analysis" and channels[-1] == "final"
    turn = assistant_widgets(w)[-1]
    assert turn.reasoning_text() and turn.answer_text()
    assert turn.reasoning_text() not in turn.answer_text()
    assert seen_live and seen_live[0]  # shown expanded while it streamed
    section = turn.reasoning_sections()[0]
    assert not section.expanded  # folded once the answer began
    assert section.view.isHidden()
    qtbot.mouseClick(section.toggle, Qt.MouseButton.LeftButton)
    assert section.expanded and not section.view.isHidden()
    assert section.view.text == outcome.rows[0].content


def test_a_chat_that_would_not_fit_asks_what_to_do(qtbot, tmp_path: Path) -> None:
    w = make_window(qtbot, tmp_path / "home")
    load_model(qtbot, w, story_model())
    set_chat_settings(w, temperature=0.0, max_tokens=16)
    n_ctx = w.engines.current.info.n_ctx
    send(qtbot, w, "Once upon a time")
    long_text = "The little dog ran to the park and played with a ball. " * (n_ctx // 12)
    outcome = send(qtbot, w, long_text)
    assert outcome.error is not None and outcome.rows == []
    assert w.banner.isVisible() and w.banner.kind == "warning"
    assert "context" in w.banner.label.text()
    # Nothing was cut: the long message is saved whole, unanswered.
    thread = w.store.messages.active_path(w.chat.conversation.id)
    assert thread[-1].role == "user" and thread[-1].content == long_text.strip()
    # "Continue in a new chat" carries the latest turns over, nothing silently dropped.
    button = w.banner.findChild(type(w.banner.details_button), "banner-action-continue")
    assert button is not None
    old_chat = w.chat.conversation.id
    with qtbot.waitSignal(w.chat.sig_conversation, timeout=10_000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert w.chat.conversation.id != old_chat
    assert w.chat.conversation.title.endswith("(continued)")


def test_dropping_oldest_turns_lets_the_chat_go_on(qtbot, tmp_path: Path) -> None:
    w = make_window(qtbot, tmp_path / "home")
    load_model(qtbot, w, story_model())
    n_ctx = w.engines.current.info.n_ctx
    set_chat_settings(w, temperature=0.0, max_tokens=16)
    half = "The cat sat on the mat and looked at the sun. " * (n_ctx // 30)
    send(qtbot, w, half)
    outcome = send(qtbot, w, half)
    assert outcome.error is not None  # both halves together do not fit
    button = w.banner.findChild(type(w.banner.details_button), "banner-action-drop")
    with qtbot.waitSignal(w.chat.sig_turn_finished, timeout=30_000) as blocker:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    answered = blocker.args[0]
    assert answered.error is None and answered.rows
    # The dropped turns are still shown and stored; only the model no longer sees them.
    assert len(w.store.messages.active_path(w.chat.conversation.id)) == 4


SIMPLE_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


def test_a_chat_template_model_streams_through_its_template(qtbot, tmp_path: Path) -> None:
    """A non-Harmony chat model: the thread goes through its (sandboxed) chat template."""
    from gptoss_desktop.core.chat.template_turns import TemplateTurnRunner, chat_messages

    w = make_window(qtbot, tmp_path / "home")
    load_model(qtbot, w, story_model())
    model = w.engines.current
    model.runner = TemplateTurnRunner(model.client, template_override=SIMPLE_TEMPLATE)
    assert model.runner.format == "template"
    set_chat_settings(w, temperature=0.0, max_tokens=24, instructions="Tell stories.")
    first = send(qtbot, w, "Once upon a time")
    second = send(qtbot, w, "The end")
    assert first.error is None and second.error is None
    rows = [w.store.messages.get(r.id) for r in second.rows]
    assert rows and rows[-1].channel == "final" and rows[-1].content
    assert assistant_widgets(w)[-1].answer_text() == "".join(r.content for r in rows)
    thread = w.store.messages.active_path(w.chat.conversation.id)
    seen = chat_messages(thread)
    assert [m.role for m in seen] == ["user", "assistant", "user", "assistant"]
    # The model saw the template's text: its prompt is the rendered chat, system first.
    prompt = model.client.detokenize(
        model.client.evaluated_tokens[: second.result.metrics["prompt_tokens"]]
    )
    assert (
        prompt.removeprefix("<s>")
        .lstrip()
        .startswith("system: Tell stories.\nuser: Once upon a time\nassistant:")
    )
    assert prompt.rstrip().endswith("user: The end\nassistant:")
