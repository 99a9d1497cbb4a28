"""Messages as a tree: branches for edit-and-resend and regenerate, the visible thread.

Every message has a ``parent_id`` (``None`` for the first message of a thread). Editing a
user message and sending it again adds a *sibling* of that message; regenerating an answer
adds a sibling of the first row of that assistant turn. Earlier branches stay and can be
switched back to. A conversation remembers its *active leaf*; :meth:`MessageRepo.path_to`
of that leaf is the thread the chat window shows.

A child always has a larger id than its parent, so the newest message under a node is a
leaf; switching to a branch shows its newest leaf.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from gptoss_desktop.core.errors import StoreError
from gptoss_desktop.core.store.records import (
    CHANNELS,
    MESSAGE_STATUSES,
    ROLES,
    Channel,
    Message,
    MessageStatus,
    Role,
    check_choice,
    json_object,
    to_json,
)
from gptoss_desktop.core.store.tree import MessageTree, new_turn_id


class MessageRepo(MessageTree):
    """Messages of every chat: adding, branching, switching, changing (reads: MessageTree)."""

    # --- adding ----------------------------------------------------------------------------
    def append(self, conversation_id: int, role: Role, content: str = "", **fields: Any) -> Message:
        """Add a message under the conversation's active leaf and make it the active leaf."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT active_leaf_id FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if row is None:
                raise StoreError(
                    f"Chat {conversation_id} does not exist (it may have been purged)."
                )
            return self.add(conversation_id, role, content, parent_id=row[0], **fields)

    def add(
        self,
        conversation_id: int,
        role: Role,
        content: str = "",
        *,
        parent_id: int | None,
        turn_id: str | None = None,
        author_name: str | None = None,
        channel: Channel | None = None,
        recipient: str | None = None,
        content_type: str | None = None,
        status: MessageStatus = "complete",
        error: str | None = None,
        model: str | None = None,
        metrics: Mapping[str, Any] | None = None,
        created_at: float | None = None,
        updated_at: float | None = None,
        activate: bool = True,
    ) -> Message:
        """Add a message under ``parent_id``; with ``activate`` it becomes the active leaf.

        ``turn_id=None`` continues the parent's turn when the parent is an assistant or
        tool row of the same turn being built (an assistant or tool message under one), and
        starts a new turn otherwise.
        """
        check_choice(role, ROLES, "message role")
        check_choice(channel, CHANNELS, "channel")
        check_choice(status, MESSAGE_STATUSES, "message status")
        if not isinstance(content, str):
            raise StoreError("Message content must be text.")
        metrics_json = (
            None if metrics is None else to_json(json_object(metrics, "metrics"), "metrics")
        )
        now = time.time()
        created = now if created_at is None else float(created_at)
        updated = created if updated_at is None else float(updated_at)
        with self._db.transaction() as conn:
            if (
                conn.execute(
                    "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
                ).fetchone()
                is None
            ):
                raise StoreError(
                    f"Chat {conversation_id} does not exist (it may have been purged)."
                )
            if parent_id is not None:
                parent = self._get(conn, parent_id)
                if parent.conversation_id != conversation_id:
                    raise StoreError(
                        f"Message {parent_id} belongs to another chat: cannot answer it here."
                    )
                if (
                    turn_id is None
                    and role in ("assistant", "tool")
                    and parent.role in ("assistant", "tool")
                ):
                    turn_id = parent.turn_id
            cur = conn.execute(
                "INSERT INTO messages (conversation_id, parent_id, turn_id, role, author_name, "
                "channel, recipient, content_type, content, status, error, model, metrics, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    parent_id,
                    turn_id or new_turn_id(),
                    role,
                    author_name,
                    channel,
                    recipient,
                    content_type,
                    content,
                    status,
                    error,
                    model,
                    metrics_json,
                    created,
                    updated,
                ),
            )
            message_id = int(cur.lastrowid or 0)
            if activate:
                conn.execute(
                    "UPDATE conversations SET active_leaf_id = ?, updated_at = MAX(updated_at, ?) "
                    "WHERE id = ?",
                    (message_id, updated, conversation_id),
                )
            return self._get(conn, message_id)

    def edit_and_resend(self, message_id: int, content: str) -> Message:
        """A new version of a (user) message, as a sibling of it, made the active leaf.

        The old version and everything after it stay reachable through :meth:`siblings`.
        The caller then generates the answer under the returned message.
        """
        with self._db.transaction():
            old = self.get(message_id)
            return self.add(
                old.conversation_id,
                old.role,
                content,
                parent_id=old.parent_id,
                author_name=old.author_name,
                channel=old.channel,
                recipient=old.recipient,
                content_type=old.content_type,
            )

    def regenerate(
        self, message_id: int, *, model: str | None = None, channel: Channel | None = None
    ) -> Message:
        """Start a new answer in place of the turn ``message_id`` belongs to.

        Adds an empty ``streaming`` assistant row as a sibling of the turn's first row,
        in a new turn, and makes it the active leaf; stream into it with a StreamingWriter.
        """
        with self._db.transaction():
            first = self.turn_start(message_id)
            if first.role not in ("assistant", "tool"):
                raise StoreError(
                    f"Message {message_id} is a {first.role} message: only an answer can be "
                    "regenerated (edit and resend a user message instead)."
                )
            return self.add(
                first.conversation_id,
                "assistant",
                "",
                parent_id=first.parent_id,
                channel=channel,
                status="streaming",
                model=model,
            )

    # --- switching branches ------------------------------------------------------------------
    def switch_to(self, message_id: int) -> list[Message]:
        """Show the branch through ``message_id`` (its newest leaf); return the new thread."""
        with self._db.transaction():
            leaf = self.newest_leaf(message_id)
            self.set_active_leaf(leaf.conversation_id, leaf.id)
        return self.path_to(leaf.id)

    def set_active_leaf(self, conversation_id: int, message_id: int | None) -> None:
        with self._db.transaction() as conn:
            if (
                message_id is not None
                and self._get(conn, message_id).conversation_id != conversation_id
            ):
                raise StoreError(f"Message {message_id} belongs to another chat.")
            cur = conn.execute(
                "UPDATE conversations SET active_leaf_id = ? WHERE id = ?",
                (message_id, conversation_id),
            )
            if cur.rowcount == 0:
                raise StoreError(
                    f"Chat {conversation_id} does not exist (it may have been purged)."
                )

    # --- changing ----------------------------------------------------------------------------
    def update(
        self,
        message_id: int,
        *,
        content: str | None = None,
        status: MessageStatus | None = None,
        error: str | None = None,
        metrics: Mapping[str, Any] | None = None,
        model: str | None = None,
    ) -> Message:
        """Change the given fields (``None`` leaves a field as it is)."""
        check_choice(status, MESSAGE_STATUSES, "message status")
        sets: list[str] = []
        values: list[object] = []
        for column, value in (
            ("content", content),
            ("status", status),
            ("error", error),
            ("model", model),
        ):
            if value is not None:
                sets.append(f"{column} = ?")
                values.append(value)
        if metrics is not None:
            sets.append("metrics = ?")
            values.append(to_json(json_object(metrics, "metrics"), "metrics"))
        with self._db.transaction() as conn:
            self._get(conn, message_id)
            if sets:
                conn.execute(
                    f"UPDATE messages SET {', '.join(sets)}, updated_at = ? WHERE id = ?",
                    (*values, time.time(), message_id),
                )
            return self._get(conn, message_id)

    def append_text(self, message_id: int, text: str) -> None:
        """Append streamed text to a message (one statement, one transaction)."""
        with self._db.transaction("save streamed text to") as conn:
            cur = conn.execute(
                "UPDATE messages SET content = content || ?, updated_at = ? WHERE id = ?",
                (text, time.time(), message_id),
            )
            if cur.rowcount == 0:
                raise StoreError(f"Message {message_id} does not exist (it may have been deleted).")

    def delete(self, message_id: int) -> None:
        """Delete one message; its replies move up to its parent, so the rest of the thread stays.

        If it was the active leaf, its parent (or, at the top, the chat's newest leaf) becomes
        the active leaf.
        """
        with self._db.transaction() as conn:
            msg = self._get(conn, message_id)
            conn.execute(
                "UPDATE messages SET parent_id = ? WHERE parent_id = ?", (msg.parent_id, message_id)
            )
            active = conn.execute(
                "SELECT active_leaf_id FROM conversations WHERE id = ?", (msg.conversation_id,)
            ).fetchone()[0]
            conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))
            if active == message_id:
                new_leaf = msg.parent_id
                if new_leaf is None:
                    row = conn.execute(
                        "SELECT MAX(id) FROM messages WHERE conversation_id = ?",
                        (msg.conversation_id,),
                    ).fetchone()
                    new_leaf = None if row[0] is None else int(row[0])
                conn.execute(
                    "UPDATE conversations SET active_leaf_id = ? WHERE id = ?",
                    (new_leaf, msg.conversation_id),
                )

    def recover_interrupted(self) -> int:
        """Mark messages left ``streaming`` by a crash as ``interrupted``; return how many."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE messages SET status = 'interrupted' WHERE status = 'streaming'"
            )
            return int(cur.rowcount)
