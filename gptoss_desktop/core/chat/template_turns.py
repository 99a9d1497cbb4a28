"""The turn runner for chat models that are not Harmony models (Llama, Qwen, Mistral...).

Each turn builds a :class:`TemplateChatSession` (the model's own chat template from its GGUF,
rendered in a sandbox, or ChatML) from the stored thread with the session rules of
:mod:`.session`, and sends the last user message. Reasoning written as ``<think>...</think>``
arrives on the ``analysis`` channel, the answer on ``final``, with the same events as a
Harmony turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gptoss_desktop.core.chat.events import EmitEvent, TurnResult
from gptoss_desktop.core.chat.session import SessionSettings, template_system
from gptoss_desktop.core.chat.stream import run_turn
from gptoss_desktop.core.chat.turns import check_fits, sampling_for
from gptoss_desktop.core.errors import HarmonyError
from gptoss_desktop.core.harmony import CancelToken
from gptoss_desktop.core.store.records import ChatSettings, Message
from gptoss_desktop.core.templating.prompting import PromptBuilder
from gptoss_desktop.core.templating.session import TemplateChatSession, TemplateEngine
from gptoss_desktop.core.templating.templates import ChatMessage

if TYPE_CHECKING:
    from gptoss_desktop.core.engine import EngineClient

__all__ = ["TemplateTurnRunner", "chat_messages", "open_template_session"]


def chat_messages(history: Sequence[Message]) -> list[ChatMessage]:
    """The plain chat a template sees: user messages and final answers (no reasoning)."""
    out = []
    for m in history:
        if m.status == "error" or not m.content:
            continue
        if m.role == "user":
            out.append(ChatMessage("user", m.content))
        elif m.role == "assistant" and m.channel in (None, "final"):
            out.append(ChatMessage("assistant", m.content))
    return out


def open_template_session(
    engine: TemplateEngine,
    settings: SessionSettings,
    history: Sequence[Message] = (),
    **extra: Any,
) -> TemplateChatSession:
    """A template session holding ``history``: the one session rule for other models."""
    options: dict[str, Any] = {"sampling": settings.sampling(), **extra}
    return TemplateChatSession(
        engine, system_prompt=template_system(settings), history=chat_messages(history), **options
    )


class TemplateTurnRunner:
    kind = "template"

    def __init__(self, client: EngineClient, *, template_override: str | None = None) -> None:
        assert client.info is not None
        self._client = client
        self.n_ctx = client.info.n_ctx
        self._builder = PromptBuilder(client, template_override=template_override)
        self._cancel = CancelToken()

    @property
    def format(self) -> str:
        return str(self._builder.format)

    def _split(
        self, history: Sequence[Message], settings: ChatSettings
    ) -> tuple[list[ChatMessage], str]:
        if not history or history[-1].role != "user":
            raise HarmonyError("A turn must answer a user message: write one first.")
        system = template_system(SessionSettings.from_chat(settings))
        earlier = ([ChatMessage("system", system)] if system else []) + chat_messages(history[:-1])
        return earlier, history[-1].content

    def count_tokens(self, history: Sequence[Message], settings: ChatSettings) -> int:
        earlier, text = self._split(history, settings)
        return len(self._builder.build([*earlier, ChatMessage("user", text)]).tokens)

    def run(
        self, history: Sequence[Message], settings: ChatSettings, emit: EmitEvent
    ) -> TurnResult:
        self._cancel = cancel = CancelToken()
        earlier, text = self._split(history, settings)
        prompt = self._builder.build([*earlier, ChatMessage("user", text)])
        session = TemplateChatSession(
            self._client,
            history=earlier,
            sampling=sampling_for(settings),
            max_tokens=check_fits(len(prompt.tokens), settings, self.n_ctx),
            builder=self._builder,
        )
        return run_turn(session, text, emit, cancel)

    def cancel(self) -> None:
        self._cancel.cancel()
