"""Chats in the sidebar: create, rename, pin, settings, delete with undo, purge."""

from __future__ import annotations

import json
import sqlite3
import time

from gptoss_desktop.core.errors import StoreError
from gptoss_desktop.core.store.database import Database
from gptoss_desktop.core.store.records import ChatSettings, Conversation, to_json

DEFAULT_TITLE = "New chat"
MAX_TITLE_CHARS = 300


def conversation_from_row(row: sqlite3.Row) -> Conversation:
    try:
        settings = ChatSettings.from_dict(json.loads(row["settings"] or "{}"))
    except (ValueError, StoreError):
        # A damaged settings blob must not hide the chat: show it with default settings.
        settings = ChatSettings()
    return Conversation(
        id=int(row["id"]),
        title=str(row["title"]),
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
        pinned=bool(row["pinned"]),
        deleted_at=None if row["deleted_at"] is None else float(row["deleted_at"]),
        active_leaf_id=None if row["active_leaf_id"] is None else int(row["active_leaf_id"]),
        settings=settings,
    )


def clean_title(title: str) -> str:
    text = " ".join(str(title).split())
    if not text:
        raise StoreError("A chat title cannot be empty: type a name.")
    return text[:MAX_TITLE_CHARS]


class ConversationRepo:
    """Conversations. Deleting is soft (``deleted_at``): :meth:`restore` undoes it until
    :meth:`purge_deleted` removes the chat for good."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        title: str = DEFAULT_TITLE,
        settings: ChatSettings | None = None,
        *,
        created_at: float | None = None,
    ) -> Conversation:
        now = time.time() if created_at is None else float(created_at)
        settings_json = to_json((settings or ChatSettings()).to_dict(), "chat settings")
        with self._db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO conversations (title, created_at, updated_at, settings) "
                "VALUES (?, ?, ?, ?)",
                (clean_title(title), now, now, settings_json),
            )
            return self._get(conn, int(cur.lastrowid or 0))

    def get(self, conversation_id: int) -> Conversation:
        with self._db.reading() as conn:
            return self._get(conn, conversation_id)

    @staticmethod
    def _get(conn: sqlite3.Connection, conversation_id: int) -> Conversation:
        row = conn.execute(
            "SELECT * FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            raise StoreError(f"Chat {conversation_id} does not exist (it may have been purged).")
        return conversation_from_row(row)

    def list_live(self, *, limit: int | None = None) -> list[Conversation]:
        """Live chats for the sidebar: pinned first, then most recently updated."""
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT * FROM conversations WHERE deleted_at IS NULL "
                "ORDER BY pinned DESC, updated_at DESC, id DESC LIMIT ?",
                (-1 if limit is None else int(limit),),
            ).fetchall()
        return [conversation_from_row(r) for r in rows]

    def list_deleted(self) -> list[Conversation]:
        """Chats in the trash, most recently deleted first."""
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT * FROM conversations WHERE deleted_at IS NOT NULL "
                "ORDER BY deleted_at DESC, id DESC",
            ).fetchall()
        return [conversation_from_row(r) for r in rows]

    def rename(self, conversation_id: int, title: str) -> Conversation:
        return self._update(conversation_id, "title = ?", clean_title(title))

    def set_pinned(self, conversation_id: int, pinned: bool) -> Conversation:
        return self._update(conversation_id, "pinned = ?", 1 if pinned else 0)

    def update_settings(self, conversation_id: int, settings: ChatSettings) -> Conversation:
        return self._update(
            conversation_id, "settings = ?", to_json(settings.to_dict(), "chat settings")
        )

    def delete(self, conversation_id: int) -> Conversation:
        """Move a chat to the trash; :meth:`restore` with the same id undoes it."""
        with self._db.transaction() as conn:
            self._get(conn, conversation_id)
            conn.execute(
                "UPDATE conversations SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                (time.time(), conversation_id),
            )
            return self._get(conn, conversation_id)

    def restore(self, conversation_id: int) -> Conversation:
        """Undo :meth:`delete`."""
        with self._db.transaction() as conn:
            self._get(conn, conversation_id)
            conn.execute(
                "UPDATE conversations SET deleted_at = NULL WHERE id = ?", (conversation_id,)
            )
            return self._get(conn, conversation_id)

    def purge_deleted(self, older_than_s: float = 0.0, *, now: float | None = None) -> int:
        """Remove for good the chats deleted more than ``older_than_s`` ago; return how many."""
        cutoff = (time.time() if now is None else now) - older_than_s
        with self._db.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ?",
                (cutoff,),
            )
            return int(cur.rowcount)

    def _update(self, conversation_id: int, assignment: str, value: object) -> Conversation:
        # Renaming, pinning and settings do not reorder the sidebar: only new messages do.
        with self._db.transaction() as conn:
            self._get(conn, conversation_id)
            conn.execute(
                f"UPDATE conversations SET {assignment} WHERE id = ?", (value, conversation_id)
            )
            return self._get(conn, conversation_id)
