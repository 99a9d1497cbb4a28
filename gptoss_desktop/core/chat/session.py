"""How a conversation becomes a session: one rule for the chat window, compare, the command
line and the local API server.

:class:`SessionSettings` holds everything that shapes a prompt. The rules:

- **Instructions** (the chat's instructions, compare's and the command line's ``--system``)
  go to the developer message, under ``# Instructions``: what gpt-oss was trained to follow.
- **Model identity** stays gpt-oss's default ("You are ChatGPT, a large language model trained
  by OpenAI.") unless the user sets one on purpose (``model_identity``; ``--identity`` on the
  command line).
- A stored chat's **"System prompt"** (``ChatSettings.system_prompt``: what an imported chat
  or an older version of the app saved) is instructions too: it goes first in the developer
  message, before the chat's own instructions. It never replaces the model identity.
- **Date**: the day the conversation started (its first message), today for a new one; an
  explicit ``date`` wins, and ``date=""`` sends none. Stable for the whole chat, so the prompt
  prefix stays in the KV cache.
- **Reasoning effort**: the chosen one (medium unless chosen), in the system message.
- Chat-template models get one system message: system prompt, then instructions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gptoss_desktop.core.harmony.model import (
    DeveloperContent,
    ReasoningEffort,
    SystemContent,
    ToolDescription,
)
from gptoss_desktop.core.harmony.model import (
    Message as HMessage,
)
from gptoss_desktop.core.store.records import ChatSettings, Message

if TYPE_CHECKING:
    from gptoss_desktop.core.engine import SamplingOptions
    from gptoss_desktop.core.templating.templates import ChatMessage

#: ``SessionSettings.date`` for "no date at all".
NO_DATE = ""


@dataclass(frozen=True)
class SessionSettings:
    """What shapes a prompt and its sampling, the same for every front end."""

    instructions: str = ""
    model_identity: str = ""
    reasoning_effort: str = "medium"
    #: None: the conversation's first day (today for a new one); ``NO_DATE``: none; else as given.
    date: str | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    max_tokens: int | None = None
    #: Function tools declared without a handler here (the tool assembly adds handled ones).
    functions: tuple[ToolDescription, ...] = field(default=())

    @classmethod
    def from_chat(cls, settings: ChatSettings) -> SessionSettings:
        """A stored chat's settings; its "System prompt" becomes the first instructions."""
        parts = [settings.system_prompt.strip(), settings.instructions.strip()]
        return cls(
            instructions="\n\n".join(p for p in parts if p),
            model_identity=settings.model_identity.strip(),
            reasoning_effort=settings.reasoning_effort,
            temperature=settings.temperature,
            top_p=settings.top_p,
            seed=settings.seed,
            max_tokens=settings.max_tokens,
        )

    def sampling(self) -> SamplingOptions:
        from gptoss_desktop.core.engine import SamplingOptions

        return SamplingOptions(temperature=self.temperature, top_p=self.top_p, seed=self.seed)


def start_date(settings: SessionSettings, first_message_at: float | None = None) -> str | None:
    """The date the model is told (see the module's rules)."""
    if settings.date is not None:
        return settings.date or None
    if first_message_at:
        return dt.datetime.fromtimestamp(first_message_at).strftime("%Y-%m-%d")
    return dt.date.today().isoformat()


def first_message_at(history: Sequence[Message]) -> float | None:
    return history[0].created_at if history and history[0].created_at else None


def system_content(settings: SessionSettings, date: str | None) -> SystemContent:
    identity = settings.model_identity.strip()
    base = SystemContent(
        reasoning_effort=ReasoningEffort(settings.reasoning_effort), conversation_start_date=date
    )
    if identity:
        return SystemContent(
            model_identity=identity,
            reasoning_effort=base.reasoning_effort,
            conversation_start_date=date,
        )
    return base


def developer_content(
    settings: SessionSettings, functions: Iterable[ToolDescription] = ()
) -> DeveloperContent | None:
    text = settings.instructions.strip()
    fns = (*settings.functions, *functions)
    return DeveloperContent.create(text or None, fns) if (text or fns) else None


def template_system(settings: SessionSettings) -> str:
    """The system message a chat-template model gets (instructions; identity first if set)."""
    parts = [settings.model_identity.strip(), settings.instructions.strip()]
    return "\n\n".join(p for p in parts if p)


def harmony_message(m: Message) -> HMessage | None:
    """A stored row as a Harmony message (None for rows the model must not see again)."""
    if m.status == "error" or (not m.content and m.role != "user"):
        return None
    if m.role == "user":
        return HMessage.user(m.content)
    if m.role == "assistant":
        return HMessage.assistant(
            m.content,
            channel=m.channel or "final",
            recipient=m.recipient,
            content_type=m.content_type,
        )
    if m.role == "tool":
        return HMessage.tool_result(m.author_name or "tool", m.content)
    return None


def history_message(
    role: str,
    content: str,
    *,
    channel: str | None = None,
    recipient: str | None = None,
    author_name: str | None = None,
    created_at: float = 0.0,
) -> Message:
    """A thread row that is not stored (compare, the command line, the API server)."""
    return Message(
        id=0,
        conversation_id=0,
        parent_id=None,
        turn_id="",
        role=role,  # type: ignore[arg-type]
        content=content,
        channel=channel,  # type: ignore[arg-type]
        recipient=recipient,
        author_name=author_name,
        created_at=created_at,
    )


def history_from_chat(messages: Sequence[ChatMessage]) -> list[Message]:
    """Plain chat messages (user, assistant answers) as thread rows."""
    rows = []
    for m in messages:
        if m.role == "user":
            rows.append(history_message("user", m.content))
        elif m.role == "assistant":
            rows.append(history_message("assistant", m.content, channel="final"))
    return rows


def describe(settings: SessionSettings) -> dict[str, Any]:
    """What was sent, for records (compare saves it with each column)."""
    return {
        "instructions": settings.instructions,
        "model_identity": settings.model_identity or None,
        "reasoning_effort": settings.reasoning_effort,
    }
