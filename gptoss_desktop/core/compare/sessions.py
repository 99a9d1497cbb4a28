"""Pick the right chat session for a loaded model.

Models with the Harmony special tokens (gpt-oss) talk through the Harmony ``ChatSession``
(:mod:`core.harmony.session`); every other model through :class:`TemplateChatSession` (its
own chat template, ChatML, or plain completion). Both take ``send(text, on_event=...,
cancel=...)`` and report with the same event types.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from gptoss_desktop.core.compare.session import TemplateChatSession, TemplateEngine
from gptoss_desktop.core.compare.templates import ChatMessage
from gptoss_desktop.core.engine import SamplingOptions
from gptoss_desktop.core.harmony.cancel import CancelToken
from gptoss_desktop.core.harmony.model import DeveloperContent, Message
from gptoss_desktop.core.harmony.session import ChatSession

HARMONY_MARKERS = ("<|start|>", "<|message|>", "<|channel|>", "<|return|>")


class TurnOutcome(Protocol):
    stop_reason: str

    @property
    def final(self) -> str | None: ...

    @property
    def reasoning(self) -> str: ...


class ChatSessionLike(Protocol):
    def send(
        self,
        user_text: str,
        *,
        on_event: Callable[[Any], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> TurnOutcome: ...


class SessionFactory(Protocol):
    def __call__(
        self,
        engine: TemplateEngine,
        *,
        system_prompt: str,
        history: Sequence[ChatMessage],
        sampling: SamplingOptions,
        max_tokens: int,
        template_override: str | None,
    ) -> ChatSessionLike: ...


def is_harmony_model(engine: TemplateEngine) -> bool:
    by_text: dict[str, Any] = engine.special_tokens().get("by_text", {})
    return all(marker in by_text for marker in HARMONY_MARKERS)


def open_session(
    engine: TemplateEngine,
    *,
    system_prompt: str = "",
    history: Sequence[ChatMessage] = (),
    sampling: SamplingOptions | None = None,
    max_tokens: int = 1024,
    template_override: str | None = None,
) -> ChatSessionLike:
    """A Harmony session for gpt-oss models (unless a template is forced), else a template one."""
    if template_override is None and is_harmony_model(engine):
        developer = DeveloperContent.create(system_prompt) if system_prompt else None
        session = ChatSession(engine, developer=developer, sampling=sampling, max_tokens=max_tokens)
        for message in history:
            if message.role == "user":
                session.add_message(Message.user(message.content))
            elif message.role == "assistant":
                session.add_message(Message.assistant(message.content, channel="final"))
        return session
    return TemplateChatSession(
        engine,
        system_prompt=system_prompt,
        history=history,
        sampling=sampling,
        max_tokens=max_tokens,
        template_override=template_override,
    )
