"""The Harmony data model: who speaks, on which channel, to whom, and with what content.

Plain frozen dataclasses, no behaviour beyond small constructors. Rendering lives in
:mod:`.render`, parsing in :mod:`.parse`, history rules in :mod:`.conversation`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

DEFAULT_IDENTITY = "You are ChatGPT, a large language model trained by OpenAI."
DEFAULT_KNOWLEDGE_CUTOFF = "2024-06"
FUNCTIONS_NAMESPACE = "functions"


class Role(enum.StrEnum):
    SYSTEM = "system"
    DEVELOPER = "developer"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class ReasoningEffort(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Channel(enum.StrEnum):
    """The channels gpt-oss knows; a parsed message may still carry any other string."""

    ANALYSIS = "analysis"
    COMMENTARY = "commentary"
    FINAL = "final"


@dataclass(frozen=True)
class Author:
    role: Role
    name: str | None = None

    @classmethod
    def tool(cls, name: str) -> Author:
        return cls(Role.TOOL, name)


@dataclass(frozen=True)
class ChannelConfig:
    valid_channels: tuple[str, ...] = ("analysis", "commentary", "final")
    channel_required: bool = True


@dataclass(frozen=True)
class ToolDescription:
    """One callable tool. ``parameters`` is a JSON-schema object; key order is kept."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ToolNamespace:
    """A namespace of tools (``functions``, ``browser``, ``python``...)."""

    name: str
    description: str | None = None
    tools: tuple[ToolDescription, ...] = ()


def _namespaces(items: Iterable[ToolNamespace] | Mapping[str, ToolNamespace] | None) -> Any:
    if items is None:
        return None
    values = items.values() if isinstance(items, Mapping) else items
    return {ns.name: ns for ns in values}


@dataclass(frozen=True)
class TextContent:
    text: str


@dataclass(frozen=True)
class SystemContent:
    """The system message: identity, dates, reasoning effort, built-in tools, channels.

    ``tools`` maps a namespace name to its definition (built-in tools such as ``browser``
    and ``python``); they render in sorted name order. Function tools belong in
    :class:`DeveloperContent`.
    """

    model_identity: str | None = DEFAULT_IDENTITY
    reasoning_effort: ReasoningEffort | None = ReasoningEffort.MEDIUM
    conversation_start_date: str | None = None
    knowledge_cutoff: str | None = DEFAULT_KNOWLEDGE_CUTOFF
    channel_config: ChannelConfig | None = field(default_factory=ChannelConfig)
    tools: Mapping[str, ToolNamespace] | None = None

    def with_tools(self, *namespaces: ToolNamespace) -> SystemContent:
        merged = dict(self.tools or {})
        merged.update(_namespaces(namespaces))
        return replace(self, tools=merged)

    def with_reasoning(self, effort: ReasoningEffort | str) -> SystemContent:
        return replace(self, reasoning_effort=ReasoningEffort(effort))


@dataclass(frozen=True)
class DeveloperContent:
    """The developer message: instructions and function tools (namespace ``functions``)."""

    instructions: str | None = None
    tools: Mapping[str, ToolNamespace] | None = None

    @classmethod
    def create(
        cls, instructions: str | None = None, functions: Iterable[ToolDescription] = ()
    ) -> DeveloperContent:
        fns = tuple(functions)
        tools = (
            {FUNCTIONS_NAMESPACE: ToolNamespace(FUNCTIONS_NAMESPACE, None, fns)} if fns else None
        )
        return cls(instructions=instructions, tools=tools)

    @property
    def functions(self) -> tuple[ToolDescription, ...]:
        ns = (self.tools or {}).get(FUNCTIONS_NAMESPACE)
        return ns.tools if ns else ()


Content = TextContent | SystemContent | DeveloperContent


@dataclass(frozen=True)
class Message:
    author: Author
    content: tuple[Content, ...] = ()
    channel: str | None = None
    recipient: str | None = None
    content_type: str | None = None

    @classmethod
    def from_role(cls, role: Role | str, text: str, **kw: Any) -> Message:
        return cls(Author(Role(role)), (TextContent(text),), **kw)

    @classmethod
    def system(cls, content: SystemContent) -> Message:
        return cls(Author(Role.SYSTEM), (content,))

    @classmethod
    def developer(cls, content: DeveloperContent) -> Message:
        return cls(Author(Role.DEVELOPER), (content,))

    @classmethod
    def user(cls, text: str) -> Message:
        return cls.from_role(Role.USER, text)

    @classmethod
    def assistant(
        cls,
        text: str,
        channel: str | None = None,
        recipient: str | None = None,
        content_type: str | None = None,
    ) -> Message:
        return cls(
            Author(Role.ASSISTANT),
            (TextContent(text),),
            channel=channel,
            recipient=recipient,
            content_type=content_type,
        )

    @classmethod
    def tool_result(cls, tool_name: str, text: str, channel: str | None = "commentary") -> Message:
        """A tool's answer: author ``tool_name`` (e.g. ``functions.get_weather``), to the assistant."""
        return cls(
            Author.tool(tool_name), (TextContent(text),), channel=channel, recipient="assistant"
        )

    @property
    def role(self) -> Role:
        return self.author.role

    @property
    def text(self) -> str:
        """The concatenated text content (system/developer content is not included)."""
        return "".join(c.text for c in self.content if isinstance(c, TextContent))

    @property
    def is_tool_call(self) -> bool:
        return (
            self.author.role is Role.ASSISTANT
            and self.recipient is not None
            and self.recipient != "all"
        )


@dataclass(frozen=True)
class Conversation:
    messages: tuple[Message, ...] = ()

    @classmethod
    def of(cls, *messages: Message) -> Conversation:
        return cls(tuple(messages))

    def __iter__(self) -> Iterator[Message]:
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)

    def appended(self, *messages: Message) -> Conversation:
        return Conversation(self.messages + tuple(messages))
