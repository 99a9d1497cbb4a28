"""TemplateChatSession against the real worker: events like the Harmony session's."""

from __future__ import annotations

import pytest

from gptoss_desktop.core.engine import EngineClient, LoadOptions, SamplingOptions
from gptoss_desktop.core.errors import ChatTemplateError
from gptoss_desktop.core.harmony import CancelToken, ContentDelta, MessageEnd, MessageStart
from gptoss_desktop.core.harmony.session import GenerationFinished
from gptoss_desktop.core.templating.session import TemplateChatSession
from gptoss_desktop.core.templating.templates import ChatMessage
from tests.helpers import shared_model

GREEDY = SamplingOptions(temperature=0.0)


def test_story_model_turn_events_and_history() -> None:
    path = shared_model("stories260K.gguf")
    with EngineClient.start(path, LoadOptions(n_ctx=256, n_threads=1)) as client:
        session = TemplateChatSession(client, sampling=GREEDY, max_tokens=24)
        events: list[object] = []
        result = session.send("Once upon a time", on_event=events.append)
        text = "".join(e.text for e in events if isinstance(e, ContentDelta))
        assert text.startswith(", there was a little girl named Lily")
        assert result.final == text and result.reasoning == ""
        assert result.stop_reason == "max_tokens"
        kinds = [type(e) for e in events]
        assert kinds[0] is MessageStart and kinds[-1] is GenerationFinished
        assert kinds[-2] is MessageEnd
        done = events[-1]
        assert isinstance(done, GenerationFinished) and done.metrics.completion_tokens == 24
        assert session.messages[-2:] == [
            ChatMessage("user", "Once upon a time"),
            ChatMessage("assistant", text),
        ]


def test_cancel_token_stops_the_turn_and_keeps_the_partial_answer() -> None:
    path = shared_model("stories260K.gguf")
    with EngineClient.start(path, LoadOptions(n_ctx=2048, n_threads=1)) as client:
        session = TemplateChatSession(client, sampling=GREEDY, max_tokens=1500)
        cancel = CancelToken()
        seen: list[str] = []

        def on_event(event: object) -> None:
            if isinstance(event, ContentDelta):
                seen.append(event.text)
                cancel.cancel()

        result = session.send("Once upon a time", on_event=on_event, cancel=cancel)
        assert result.stop_reason == "cancelled"
        assert result.generations[0].metrics.completion_tokens < 1500
        assert session.messages[-1].content == "".join(seen)


def test_template_error_leaves_history_unchanged(chatml_client: EngineClient) -> None:
    session = TemplateChatSession(
        chatml_client, template_override="{{ raise_exception('no thanks') }}"
    )
    with pytest.raises(ChatTemplateError, match="no thanks"):
        session.send("hi")
    assert session.messages == []


def test_reasoning_template_opens_think(chatml_client: EngineClient) -> None:
    template = (
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
        "<|im_start|>assistant\n<think>\n"
    )
    session = TemplateChatSession(
        chatml_client, template_override=template, sampling=GREEDY, max_tokens=8
    )
    events: list[object] = []
    session.send("hi", on_event=events.append)
    starts = [e for e in events if isinstance(e, MessageStart)]
    # The model (random weights) writes no </think>: all of it is reasoning.
    assert [s.channel for s in starts] == ["analysis"]
