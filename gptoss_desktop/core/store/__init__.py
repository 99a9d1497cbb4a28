"""SQLite persistence: chats (a message tree with branches), settings per chat, streamed
text saved as it arrives, full-text search, comparisons and blind votes, export/import.

Qt-free. Build one :class:`Store` in app.py and pass it on; it is safe to use from any
thread. See docs/STORE.md for the API.
"""

from gptoss_desktop.core.store.records import (
    ChatSettings,
    ColumnSpec,
    Comparison,
    ComparisonColumn,
    Conversation,
    Message,
    SearchHit,
    StoredVote,
    VoteRecord,
)
from gptoss_desktop.core.store.store import Store
from gptoss_desktop.core.store.streaming import ColumnStreamingWriter, StreamingWriter

__all__ = [
    "ChatSettings",
    "ColumnSpec",
    "ColumnStreamingWriter",
    "Comparison",
    "ComparisonColumn",
    "Conversation",
    "Message",
    "SearchHit",
    "Store",
    "StoredVote",
    "StreamingWriter",
    "VoteRecord",
]
