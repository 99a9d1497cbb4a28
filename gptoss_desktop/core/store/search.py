"""Full-text search across every chat (SQLite FTS5).

What users type is never passed to FTS5 as query syntax: each word becomes a quoted
prefix term (``"word"*``), quotes inside are doubled, and words without a letter or digit
are dropped, so no input can raise an FTS syntax error. All words must match (AND), each as
a prefix, so results narrow as the user types. Deleted (trashed) chats are not searched.
"""

from __future__ import annotations

from gptoss_desktop.core.store.database import Database
from gptoss_desktop.core.store.records import SearchHit

SNIPPET_TOKENS = 12
MAX_QUERY_TERMS = 32


def fts_query(text: str) -> str | None:
    """The FTS5 query for what a user typed, or ``None`` when nothing is searchable."""
    terms: list[str] = []
    for word in text.replace("\x00", " ").split():
        if not any(ch.isalnum() for ch in word):
            continue
        terms.append('"' + word.replace('"', '""') + '"*')
        if len(terms) == MAX_QUERY_TERMS:
            break
    return " ".join(terms) if terms else None


def search(
    db: Database,
    text: str,
    *,
    limit: int = 50,
    mark: tuple[str, str] = ("[", "]"),
    ellipsis: str = "…",
) -> list[SearchHit]:
    """Chats whose title matches come first, then matching messages, best match first.

    Messages on branches that are not shown are found too (switch to them with
    ``MessageRepo.switch_to``).
    """
    query = fts_query(text)
    if query is None:
        return []
    start, end = mark
    with db.reading("search") as conn:
        title_rows = conn.execute(
            "SELECT c.id, c.title, highlight(conversations_fts, 0, ?, ?) AS snip, "
            "bm25(conversations_fts) AS rank "
            "FROM conversations_fts JOIN conversations c ON c.id = conversations_fts.rowid "
            "WHERE conversations_fts MATCH ? AND c.deleted_at IS NULL "
            "ORDER BY rank, c.id LIMIT ?",
            (start, end, query, limit),
        ).fetchall()
        message_rows = conn.execute(
            "SELECT m.id, m.conversation_id, c.title, m.role, m.channel, "
            "snippet(messages_fts, 0, ?, ?, ?, ?) AS snip, bm25(messages_fts) AS rank "
            "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
            "JOIN conversations c ON c.id = m.conversation_id "
            "WHERE messages_fts MATCH ? AND c.deleted_at IS NULL "
            "ORDER BY rank, m.id LIMIT ?",
            (start, end, ellipsis, SNIPPET_TOKENS, query, limit),
        ).fetchall()
    hits = [
        SearchHit(
            conversation_id=int(r["id"]),
            conversation_title=str(r["title"]),
            message_id=None,
            role=None,
            channel=None,
            snippet=str(r["snip"]),
            rank=float(r["rank"]),
        )
        for r in title_rows
    ]
    hits.extend(
        SearchHit(
            conversation_id=int(r["conversation_id"]),
            conversation_title=str(r["title"]),
            message_id=int(r["id"]),
            role=r["role"],
            channel=r["channel"],
            snippet=str(r["snip"]),
            rank=float(r["rank"]),
        )
        for r in message_rows
    )
    return hits[:limit]
