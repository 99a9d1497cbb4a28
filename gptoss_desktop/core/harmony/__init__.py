"""Harmony, the chat format of gpt-oss, implemented at the token level (no Qt).

* :mod:`.model`: roles, authors, channels, system/developer content, tools, messages.
* :mod:`.render`: messages and conversations to text and to token ids.
* :mod:`.parse`: the streaming parser over token ids (lenient by default).
* :mod:`.conversation`: which history the model sees (analysis dropping).
* :mod:`.session`: ChatSession, the tool loop and KV-cache reuse with an EngineClient.
"""

from gptoss_desktop.core.harmony.cancel import CancelToken
from gptoss_desktop.core.harmony.conversation import DropPolicy
from gptoss_desktop.core.harmony.model import (
    Author,
    ChannelConfig,
    Conversation,
    DeveloperContent,
    Message,
    ReasoningEffort,
    Role,
    SystemContent,
    TextContent,
    ToolDescription,
    ToolNamespace,
)
from gptoss_desktop.core.harmony.parse import (
    ContentDelta,
    MessageEnd,
    MessageStart,
    StreamParser,
    parse_text,
    parse_tokens,
)
from gptoss_desktop.core.harmony.render import (
    conversation_segments,
    message_segments,
    render_conversation_text,
    render_conversation_tokens,
    segments_text,
    segments_tokens,
)
from gptoss_desktop.core.harmony.session import (
    ChatSession,
    GenerationFinished,
    ToolCallFinished,
    ToolCallRequested,
    TurnResult,
)
from gptoss_desktop.core.harmony.toolcall import (
    Approved,
    Denied,
    Edited,
    ToolCall,
    ToolHandler,
    ToolOutcome,
)
from gptoss_desktop.core.harmony.vocab import ByteVocabulary, EngineVocabulary, HarmonyVocabulary

__all__ = [
    "Approved",
    "Author",
    "ByteVocabulary",
    "CancelToken",
    "ChannelConfig",
    "ChatSession",
    "ContentDelta",
    "Conversation",
    "Denied",
    "DeveloperContent",
    "DropPolicy",
    "Edited",
    "EngineVocabulary",
    "GenerationFinished",
    "HarmonyVocabulary",
    "Message",
    "MessageEnd",
    "MessageStart",
    "ReasoningEffort",
    "Role",
    "StreamParser",
    "SystemContent",
    "TextContent",
    "ToolCall",
    "ToolCallFinished",
    "ToolCallRequested",
    "ToolDescription",
    "ToolHandler",
    "ToolNamespace",
    "ToolOutcome",
    "TurnResult",
    "conversation_segments",
    "message_segments",
    "parse_text",
    "parse_tokens",
    "render_conversation_text",
    "render_conversation_tokens",
    "segments_text",
    "segments_tokens",
]
