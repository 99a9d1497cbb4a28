"""Which session a model gets: Harmony for gpt-oss vocabularies, templates for the rest."""

from __future__ import annotations

from pathlib import Path

from gptoss_desktop.core.chat.kind import is_harmony_model
from gptoss_desktop.core.chat.session import SessionSettings, history_from_chat
from gptoss_desktop.core.chat.sessions import open_session
from gptoss_desktop.core.engine import EngineClient, LoadOptions, SamplingOptions
from gptoss_desktop.core.harmony import ChatSession, ContentDelta, Role
from gptoss_desktop.core.templating.session import TemplateChatSession
from gptoss_desktop.core.templating.templates import ChatMessage
from tests.helpers import PROJECT_MODELS, project_model

GREEDY = SamplingOptions(temperature=0.0)


def harmony_model() -> Path:
    trained = PROJECT_MODELS / "tiny-harmony.gguf"
    return trained if trained.is_file() else project_model("tiny-gptoss-random.gguf")


def test_gpt_oss_gets_the_harmony_session_with_the_shared_history() -> None:
    with EngineClient.start(harmony_model(), LoadOptions(n_ctx=1024, n_threads=1)) as client:
        assert is_harmony_model(client)
        history = [ChatMessage("user", "Say hello to Alice."), ChatMessage("assistant", "Hello!")]
        session = open_session(
            client,
            SessionSettings(instructions="Be brief."),
            history_from_chat(history),
            sampling=GREEDY,
            max_tokens=64,
        )
        assert isinstance(session, ChatSession)
        roles = [m.role for m in session.history]
        assert roles == [Role.SYSTEM, Role.DEVELOPER, Role.USER, Role.ASSISTANT]
        deltas: list[ContentDelta] = []
        result = session.send(
            "What is the capital of France?",
            on_event=lambda e: deltas.append(e) if isinstance(e, ContentDelta) else None,
        )
        assert deltas and result.generations


def test_other_models_get_the_template_session(chatml_model: Path) -> None:
    with EngineClient.start(chatml_model, LoadOptions(n_ctx=256, n_threads=1)) as client:
        assert not is_harmony_model(client)
        session = open_session(client, SessionSettings(), sampling=GREEDY, max_tokens=4)
        assert isinstance(session, TemplateChatSession)


def test_a_template_override_forces_the_template_session() -> None:
    with EngineClient.start(harmony_model(), LoadOptions(n_ctx=1024, n_threads=1)) as client:
        session = open_session(
            client, SessionSettings(), template_override="{{ messages[-1].content }}"
        )
        assert isinstance(session, TemplateChatSession)
