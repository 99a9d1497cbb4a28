"""Reading the message tree: the visible thread, versions of a message, Harmony turns.

Every message has a ``parent_id`` (``None`` for the first message of a thread); siblings
are the versions of a message (edits, regenerations). A child always has a larger id than
its parent, so the newest message under a node is a leaf.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable

from gptoss_desktop.core.errors import StoreError
from gptoss_desktop.core.store.database import Database
from gptoss_desktop.core.store.records import Message


def group_turns(messages: Iterable[Message]) -> list[list[Message]]:
    """The one turn-grouping rule (chat view, export): a user message is a turn of its own;
    the assistant and tool rows after it that share one ``turn_id`` are one assistant turn."""
    groups: list[list[Message]] = []
    for m in messages:
        if (
            groups
            and m.role != "user"
            and groups[-1][0].role != "user"
            and groups[-1][-1].turn_id == m.turn_id
        ):
            groups[-1].append(m)
        else:
            groups.append([m])
    return groups


def message_from_row(row: sqlite3.Row) -> Message:
    metrics = None
    if row["metrics"]:
        try:
            loaded = json.loads(row["metrics"])
            metrics = loaded if isinstance(loaded, dict) else None
        except ValueError:
            metrics = None
    return Message(
        id=int(row["id"]),
        conversation_id=int(row["conversation_id"]),
        parent_id=None if row["parent_id"] is None else int(row["parent_id"]),
        turn_id=str(row["turn_id"]),
        role=row["role"],
        content=str(row["content"]),
        author_name=row["author_name"],
        channel=row["channel"],
        recipient=row["recipient"],
        content_type=row["content_type"],
        status=row["status"],
        error=row["error"],
        model=row["model"],
        metrics=metrics,
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
    )


def new_turn_id() -> str:
    return uuid.uuid4().hex


class MessageTree:
    """Read-only queries over the messages of every chat."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, message_id: int) -> Message:
        with self._db.reading() as conn:
            return self._get(conn, message_id)

    @staticmethod
    def _get(conn: sqlite3.Connection, message_id: int) -> Message:
        row = conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise StoreError(f"Message {message_id} does not exist (it may have been deleted).")
        return message_from_row(row)

    def all(self, conversation_id: int) -> list[Message]:
        """Every message of a chat, every branch, in the order they were added."""
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
            ).fetchall()
        return [message_from_row(r) for r in rows]

    def path_to(self, leaf_id: int) -> list[Message]:
        """The thread from the first message down to ``leaf_id``."""
        with self._db.reading() as conn:
            rows = conn.execute(
                "WITH RECURSIVE up(id, depth) AS ("
                "  SELECT ?, 0"
                "  UNION ALL"
                "  SELECT m.parent_id, up.depth + 1 FROM messages m JOIN up ON m.id = up.id"
                "  WHERE m.parent_id IS NOT NULL"
                ") SELECT messages.* FROM up JOIN messages ON messages.id = up.id "
                "ORDER BY up.depth DESC",
                (leaf_id,),
            ).fetchall()
        if not rows:
            raise StoreError(f"Message {leaf_id} does not exist (it may have been deleted).")
        return [message_from_row(r) for r in rows]

    def active_path(self, conversation_id: int) -> list[Message]:
        """The thread the chat window shows (empty for a new chat)."""
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT active_leaf_id FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        if row is None:
            raise StoreError(f"Chat {conversation_id} does not exist (it may have been purged).")
        return [] if row[0] is None else self.path_to(int(row[0]))

    def siblings(self, message_id: int) -> list[Message]:
        """The versions of a message (itself included), oldest first: the "< 2/3 >" switcher."""
        with self._db.reading() as conn:
            me = self._get(conn, message_id)
            rows = conn.execute(
                "SELECT * FROM messages WHERE conversation_id = ? AND parent_id IS ? ORDER BY id",
                (me.conversation_id, me.parent_id),
            ).fetchall()
        return [message_from_row(r) for r in rows]

    def children(self, message_id: int) -> list[Message]:
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT * FROM messages WHERE parent_id = ? ORDER BY id", (message_id,)
            ).fetchall()
        return [message_from_row(r) for r in rows]

    def turn(self, message_id: int) -> list[Message]:
        """The rows of the Harmony turn ``message_id`` belongs to (analysis, tool call, tool
        result, final), in order. Turn ids are unique within a chat (an imported copy of a
        chat keeps its turn ids), so the lookup stays inside the message's chat. To show a
        thread, group consecutive rows of ``active_path`` by ``turn_id`` instead.
        """
        with self._db.reading() as conn:
            me = self._get(conn, message_id)
            rows = conn.execute(
                "SELECT * FROM messages WHERE conversation_id = ? AND turn_id = ? ORDER BY id",
                (me.conversation_id, me.turn_id),
            ).fetchall()
        return [message_from_row(r) for r in rows]

    def turn_start(self, message_id: int) -> Message:
        """The first row of the turn ``message_id`` belongs to (walking up the same turn)."""
        with self._db.reading() as conn:
            current = self._get(conn, message_id)
            while current.parent_id is not None:
                parent = self._get(conn, current.parent_id)
                if parent.turn_id != current.turn_id:
                    break
                current = parent
            return current

    def newest_leaf(self, message_id: int) -> Message:
        """The newest message in the subtree under ``message_id`` (itself if it has none)."""
        with self._db.reading() as conn:
            row = conn.execute(
                "WITH RECURSIVE down(id) AS ("
                "  SELECT ? UNION ALL SELECT m.id FROM messages m JOIN down ON m.parent_id = down.id"
                ") SELECT MAX(id) FROM down",
                (message_id,),
            ).fetchone()
            return self._get(conn, int(row[0]))
