"""Pick the right chat session for a loaded model.

Models with the Harmony special tokens (gpt-oss) talk through the Harmony ``ChatSession``
of :mod:`core.harmony.session`; every other model through :class:`TemplateChatSession`
(its own chat template, ChatML, or plain completion). Both give the same events.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from gptoss_desktop.core.compare.session import SessionEvent, TemplateChatSession
from gptoss_desktop.core.compare.templates import ChatMessage
from gptoss_desktop.core.engine import EngineClient, SamplingOptions

HARMONY_MARKERS = ("<|start|>", "<|message|>", "<|channel|>", "<|return|>")


class ChatSessionLike(Protocol):
    def send(self, text: str) -> Iterator[SessionEvent]: ...

    def cancel(self) -> None: ...


class SessionFactory(Protocol):
    def __call__(
        self,
        client: EngineClient,
        *,
        system_prompt: str,
        history: Sequence[ChatMessage],
        sampling: SamplingOptions,
        max_tokens: int,
        template_override: str | None,
    ) -> ChatSessionLike: ...


def is_harmony_model(client: EngineClient) -> bool:
    by_text: dict[str, Any] = client.special_tokens().get("by_text", {})
    return all(marker in by_text for marker in HARMONY_MARKERS)


def open_session(
    client: EngineClient,
    *,
    system_prompt: str = "",
    history: Sequence[ChatMessage] = (),
    sampling: SamplingOptions | None = None,
    max_tokens: int = 1024,
    template_override: str | None = None,
) -> ChatSessionLike:
    return TemplateChatSession(
        client,
        system_prompt=system_prompt,
        history=history,
        sampling=sampling,
        max_tokens=max_tokens,
        template_override=template_override,
    )
