-- FROZEN: a chat database exactly as schema version 1 created it, with data.
-- Used to test migrating an old file. Never edit: add a new fixture for a new version.
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

-- Data as the version-1 app saved it: two chats, one with a branch (an edited question and
-- a regenerated answer), a Harmony turn with reasoning, a tool call and its result.
INSERT INTO conversations (id, title, created_at, updated_at, pinned, deleted_at, active_leaf_id, settings)
VALUES
  (1, 'Weather in Lisbon', 1700000000.0, 1700000100.0, 1, NULL, NULL,
   '{"model":"gpt-oss-20b","reasoning_effort":"high","system_prompt":"","instructions":"Be brief.","temperature":1.0,"top_p":1.0,"max_tokens":null,"context_length":8192,"seed":null,"enabled_tools":["functions"],"function_tools":[{"name":"get_weather","parameters":{"type":"object"}}]}'),
  (2, 'Old trash', 1690000000.0, 1690000000.0, 0, 1690000500.0, NULL, '{}');

INSERT INTO messages (id, conversation_id, parent_id, turn_id, role, author_name, channel, recipient, content_type, content, status, error, model, metrics, created_at, updated_at)
VALUES
  (1, 1, NULL, 't1', 'user', NULL, NULL, NULL, NULL, 'What is the weather in Lisbon?', 'complete', NULL, NULL, NULL, 1700000001.0, 1700000001.0),
  (2, 1, 1, 't2', 'assistant', NULL, 'analysis', NULL, NULL, 'The user wants the weather; call the tool.', 'complete', NULL, 'gpt-oss-20b', NULL, 1700000002.0, 1700000002.0),
  (3, 1, 2, 't2', 'assistant', NULL, 'commentary', 'functions.get_weather', '<|constrain|>json', '{"city":"Lisbon"}', 'complete', NULL, 'gpt-oss-20b', NULL, 1700000003.0, 1700000003.0),
  (4, 1, 3, 't2', 'tool', 'functions.get_weather', 'commentary', 'assistant', NULL, '{"sunny":true,"celsius":24}', 'complete', NULL, NULL, NULL, 1700000004.0, 1700000004.0),
  (5, 1, 4, 't2', 'assistant', NULL, 'final', NULL, NULL, 'Sunny and 24 °C in Lisbon.', 'complete', NULL, 'gpt-oss-20b', '{"ttft_s":0.25,"tokens_per_s":41.5,"completion_tokens":57}', 1700000005.0, 1700000005.0),
  (6, 1, 1, 't3', 'assistant', NULL, 'final', NULL, NULL, 'I cannot know the weather without a tool.', 'complete', NULL, 'gpt-oss-20b', NULL, 1700000006.0, 1700000006.0),
  (7, 1, NULL, 't4', 'user', NULL, NULL, NULL, NULL, 'Weather in Porto?', 'complete', NULL, NULL, NULL, 1700000007.0, 1700000007.0),
  (8, 1, 7, 't5', 'assistant', NULL, 'final', NULL, NULL, 'Rain in Porto, half writ', 'streaming', NULL, 'gpt-oss-20b', NULL, 1700000008.0, 1700000008.0),
  (9, 2, NULL, 't6', 'user', NULL, NULL, NULL, NULL, 'Forgotten zebra question', 'complete', NULL, NULL, NULL, 1690000001.0, 1690000001.0);

UPDATE conversations SET active_leaf_id = 5 WHERE id = 1;
UPDATE conversations SET active_leaf_id = 9 WHERE id = 2;

PRAGMA user_version = 1;
