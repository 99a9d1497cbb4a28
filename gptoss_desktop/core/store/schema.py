"""The database schema as an ordered list of migrations.

``PRAGMA user_version`` holds the number of the last migration applied. A migration is
applied exactly once, in its own transaction, together with the new ``user_version``: it
either happens completely or not at all. Never edit a migration that has shipped; append a
new one (a file written by an older app must keep opening and migrating).

Times are Unix seconds (REAL). JSON columns hold UTF-8 JSON text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """Brings the schema from ``version - 1`` to ``version``: SQL statements, then ``apply``."""

    version: int
    description: str
    sql: str = ""
    apply: Callable[[sqlite3.Connection], None] | None = None


# Version 1: chats. Messages form a tree through parent_id; a conversation remembers the
# leaf that is shown. Full-text search over message text and chat titles (FTS5, external
# content kept in step by triggers).
_V1_CHATS = """
CREATE TABLE conversations (
    id              INTEGER PRIMARY KEY,
    title           TEXT NOT NULL,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    pinned          INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
    deleted_at      REAL,
    active_leaf_id  INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    settings        TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    parent_id       INTEGER REFERENCES messages(id) ON DELETE CASCADE,
    turn_id         TEXT NOT NULL,
    role            TEXT NOT NULL
                    CHECK (role IN ('system', 'developer', 'user', 'assistant', 'tool')),
    author_name     TEXT,
    channel         TEXT CHECK (channel IS NULL OR channel IN ('analysis', 'commentary', 'final')),
    recipient       TEXT,
    content_type    TEXT,
    content         TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'complete'
                    CHECK (status IN ('complete', 'streaming', 'interrupted', 'error', 'cancelled')),
    error           TEXT,
    model           TEXT,
    metrics         TEXT,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL
);

CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
CREATE INDEX messages_by_parent ON messages(parent_id);
CREATE INDEX messages_by_turn ON messages(turn_id);
CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming';
CREATE INDEX conversations_listing ON conversations(deleted_at, pinned, updated_at);

CREATE VIRTUAL TABLE messages_fts USING fts5(
    content, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;

CREATE VIRTUAL TABLE conversations_fts USING fts5(
    title, content='conversations', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversations_fts(rowid, title) VALUES (new.id, new.title);
END;
CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
    INSERT INTO conversations_fts(conversations_fts, rowid, title)
        VALUES ('delete', old.id, old.title);
END;
CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations BEGIN
    INSERT INTO conversations_fts(conversations_fts, rowid, title)
        VALUES ('delete', old.id, old.title);
    INSERT INTO conversations_fts(rowid, title) VALUES (new.id, new.title);
END;
"""

# Version 2: compare mode. A comparison sends one prompt (after an optional conversation)
# to 2-4 columns; each column is a model with its settings, output, reasoning, metrics and
# status. One blind vote per comparison records the order the columns were shown in.
_V2_COMPARISONS = """
CREATE TABLE comparisons (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    prompt      TEXT NOT NULL,
    messages    TEXT NOT NULL DEFAULT '[]',
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);

CREATE TABLE comparison_columns (
    id              INTEGER PRIMARY KEY,
    comparison_id   INTEGER NOT NULL REFERENCES comparisons(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL CHECK (position BETWEEN 0 AND 3),
    model           TEXT NOT NULL,
    settings        TEXT NOT NULL DEFAULT '{}',
    output          TEXT NOT NULL DEFAULT '',
    reasoning       TEXT NOT NULL DEFAULT '',
    metrics         TEXT,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'streaming', 'done', 'error', 'cancelled',
                                      'interrupted')),
    error           TEXT,
    updated_at      REAL NOT NULL,
    UNIQUE (comparison_id, position)
);

CREATE TABLE votes (
    id              INTEGER PRIMARY KEY,
    comparison_id   INTEGER NOT NULL UNIQUE REFERENCES comparisons(id) ON DELETE CASCADE,
    created_at      REAL NOT NULL,
    shown_order     TEXT NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('win', 'tie', 'all_bad')),
    winner_position INTEGER,
    CHECK ((outcome = 'win') = (winner_position IS NOT NULL))
);

CREATE INDEX comparisons_by_time ON comparisons(created_at);
CREATE INDEX votes_by_time ON votes(created_at, id);
"""

# Version 3: the local API's stored responses (``previous_response_id``): the conversation so
# far as Harmony messages (JSON), the call ids it holds, the response object returned.
_V3_API_RESPONSES = """
CREATE TABLE api_responses (
    id          TEXT PRIMARY KEY,
    created_at  REAL NOT NULL,
    model       TEXT NOT NULL,
    history     TEXT NOT NULL DEFAULT '[]',
    call_names  TEXT NOT NULL DEFAULT '{}',
    response    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX api_responses_by_time ON api_responses(created_at);
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "chats: conversations, message tree, full-text search", _V1_CHATS),
    Migration(2, "compare mode: comparisons, columns, blind votes", _V2_COMPARISONS),
    Migration(3, "local API: stored responses for previous_response_id", _V3_API_RESPONSES),
)

LATEST_VERSION = MIGRATIONS[-1].version


def split_statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (trigger bodies stay whole)."""
    statements: list[str] = []
    buffer = ""
    for part in script.split(";"):
        buffer += part + ";"
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            if statement.strip(";").strip():
                statements.append(statement)
            buffer = ""
    if buffer.strip(" \n\t;"):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {buffer[:80]!r}")
    return statements
