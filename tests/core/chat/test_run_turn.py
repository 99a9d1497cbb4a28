"""The API server's path through the chat core on real workers: a session from settings and
an unsaved history, one turn as the typed event stream, a cancel token from another thread."""

from __future__ import annotations

import threading

import pytest

from gptoss_desktop.core.chat.events import PartDelta, PartEnd, PartStart, TurnEvent
from gptoss_desktop.core.chat.session import SessionSettings, history_message
from gptoss_desktop.core.chat.sessions import open_session
from gptoss_desktop.core.chat.stream import run_turn
from gptoss_desktop.core.engine import EngineClient, LoadOptions
from gptoss_desktop.core.harmony import CancelToken, ChatSession
from gptoss_desktop.core.templating.session import TemplateChatSession
from tests.helpers import project_model, shared_model

GREEDY = SessionSettings(temperature=0.0, instructions="Be brief.", reasoning_effort="low")


def check_stream(events: list[TurnEvent]) -> None:
    """Every delta sits inside a part; parts open and close in turn."""
    open_part = False
    for event in events:
        if isinstance(event, PartStart):
            assert not open_part
            open_part = True
        elif isinstance(event, PartDelta):
            assert open_part and event.text
        elif isinstance(event, PartEnd):
            assert open_part
            open_part = False


def test_a_harmony_turn_from_settings_and_an_unsaved_history() -> None:
    model = project_model("tiny-gptoss-random.gguf")
    with EngineClient.start(model, LoadOptions(n_ctx=1024, n_threads=1)) as client:
        history = [
            history_message("user", "Hi"),
            history_message("assistant", "Hello!", channel="final"),
        ]
        session = open_session(client, GREEDY, history, max_tokens=24)
        assert isinstance(session, ChatSession)
        events: list[TurnEvent] = []
        result = run_turn(session, "And now?", events.append)
        assert events and isinstance(events[0], PartStart)
        check_stream(events)
        assert result.stop_reason != "cancelled"  # random weights: usually max_tokens
        assert 0 < result.metrics["completion_tokens"] <= 24
        assert (
            result.context_used
            == result.metrics["prompt_tokens"] + result.metrics["completion_tokens"]
        )


def test_a_template_turn_and_a_cancel_from_another_thread() -> None:
    model = shared_model("stories260K.gguf")  # no chat format: plain completion
    with EngineClient.start(model, LoadOptions(n_ctx=2048, n_threads=1)) as client:
        session = open_session(client, GREEDY, [], max_tokens=1500)
        assert isinstance(session, TemplateChatSession)
        cancel = CancelToken()
        events: list[TurnEvent] = []

        def emit(event: TurnEvent) -> None:
            events.append(event)
            if sum(isinstance(e, PartDelta) for e in events) == 3:
                threading.Thread(target=cancel.cancel).start()

        result = run_turn(session, "Once upon a time", emit, cancel)
        assert result.stop_reason == "cancelled"
        check_stream(events)
        deltas = "".join(e.text for e in events if isinstance(e, PartDelta))
        assert deltas and result.metrics.get("completion_tokens", 0) < 1500


@pytest.mark.parametrize("effort", ["low", "high"])
def test_the_effort_reaches_the_prompt(effort: str) -> None:
    model = project_model("tiny-gptoss-random.gguf")
    with EngineClient.start(model, LoadOptions(n_ctx=1024, n_threads=1)) as client:
        session = open_session(client, SessionSettings(reasoning_effort=effort), [])
        assert isinstance(session, ChatSession)
        assert f"Reasoning: {effort}" in client.detokenize(session.prompt_tokens())
