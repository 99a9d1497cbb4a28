"""Opening, pragmas, migrations and errors of the database file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gptoss_desktop.core.errors import StoreError
from gptoss_desktop.core.paths import AppPaths
from gptoss_desktop.core.store import Store
from gptoss_desktop.core.store.database import Database
from gptoss_desktop.core.store.schema import LATEST_VERSION, MIGRATIONS, Migration, split_statements
from tests.core.store.support import DATA, committed, schema_objects
from tests.helpers import ROOT


def load_v1_fixture(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript((DATA / "schema_v1_chats.sql").read_text(encoding="utf-8"))
    conn.close()


def test_pragmas_wal_full_sync_foreign_keys(store: Store) -> None:
    conn = store.db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert store.db.user_version == LATEST_VERSION == len(MIGRATIONS)


def test_for_app_uses_data_folder(gptoss_home: Path) -> None:
    paths = AppPaths.from_env()
    with Store.for_app(paths) as store:
        assert store.path == gptoss_home / "data" / "gptoss.sqlite3"
        assert store.path.is_file()


def test_old_version_file_is_migrated_with_its_data(db_path: Path) -> None:
    load_v1_fixture(db_path)
    assert committed(db_path, "PRAGMA user_version") == [(1,)]
    with Store.open(db_path) as store:
        assert store.db.user_version == LATEST_VERSION
        chat = store.conversations.get(1)
        assert chat.title == "Weather in Lisbon" and chat.pinned
        assert chat.settings.reasoning_effort == "high"
        assert chat.settings.function_tools[0]["name"] == "get_weather"
        path = store.messages.active_path(1)
        assert [m.id for m in path] == [1, 2, 3, 4, 5]
        assert path[2].recipient == "functions.get_weather"
        assert path[4].metrics == {"ttft_s": 0.25, "tokens_per_s": 41.5, "completion_tokens": 57}
        # The row v1 left streaming is marked interrupted on open.
        assert store.messages.get(8).status == "interrupted"
        assert store.recovered_messages == 1
        # Full-text search still works on the migrated file, and v2 tables are usable.
        assert [h.message_id for h in store.search("lisbon sunny")] == [5]
        assert store.search("zebra") == []  # chat 2 is in the trash
        from gptoss_desktop.core.store import ColumnSpec

        comp = store.comparisons.create("hi", [ColumnSpec("a"), ColumnSpec("b")])
        assert len(comp.columns) == 2


def test_frozen_v1_fixture_matches_migration_1(tmp_path: Path) -> None:
    """Migration 1 must never change once shipped: the frozen file's schema is what it made."""
    frozen = tmp_path / "frozen.sqlite3"
    load_v1_fixture(frozen)
    fresh = Database(tmp_path / "fresh.sqlite3", migrations=MIGRATIONS[:1])
    conn = sqlite3.connect(frozen)
    frozen_schema = schema_objects(conn)
    conn.close()
    assert fresh.user_version == 1
    assert schema_objects(fresh.conn) == frozen_schema
    fresh.close()


def test_newer_file_is_refused(db_path: Path) -> None:
    Store.open(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer gptoss-desktop"):
        Store.open(db_path)


def test_not_a_database_is_a_store_error(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is not sqlite at all, just some text" * 100)
    with pytest.raises(StoreError, match="damaged or not a gptoss-desktop database"):
        Store.open(db_path)


def test_failed_migration_leaves_file_unchanged(db_path: Path) -> None:
    Database(db_path, migrations=MIGRATIONS[:1]).close()
    broken = (
        *MIGRATIONS,
        Migration(LATEST_VERSION + 1, "broken", "CREATE TABLE x (a); SELEC nonsense;"),
    )
    # Migration 2 applies, the broken one rolls back entirely (table x never appears).
    with pytest.raises(StoreError, match=f"schema {LATEST_VERSION + 1}"):
        Database(db_path, migrations=broken)
    assert committed(db_path, "PRAGMA user_version") == [(LATEST_VERSION,)]
    assert committed(db_path, "SELECT name FROM sqlite_master WHERE name = 'x'") == []


def test_python_migration_step_runs_in_the_transaction(db_path: Path) -> None:
    def fill(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO extra VALUES (42)")

    steps = (*MIGRATIONS, Migration(LATEST_VERSION + 1, "extra", "CREATE TABLE extra (v);", fill))
    db = Database(db_path, migrations=steps)
    assert db.user_version == LATEST_VERSION + 1
    assert db.conn.execute("SELECT v FROM extra").fetchall()[0][0] == 42
    assert db.migrate(steps) == []  # nothing left to do
    db.close()


def test_split_statements_keeps_trigger_bodies_whole() -> None:
    sql = "CREATE TABLE a (x); CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; SELECT 2; END; SELECT ';';"
    parts = split_statements(sql)
    assert len(parts) == 3
    assert parts[1].startswith("CREATE TRIGGER") and parts[1].endswith("END;")
    assert parts[2] == "SELECT ';';"


def test_closed_store_says_so(db_path: Path) -> None:
    store = Store.open(db_path)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.conversations.list_live()


def test_transaction_rolls_back_on_error(store: Store) -> None:
    chat = store.conversations.create("kept")
    with pytest.raises(RuntimeError), store.db.transaction():
        store.conversations.rename(chat.id, "lost")
        raise RuntimeError("boom")
    assert store.conversations.get(chat.id).title == "kept"


def test_calls_from_many_threads_are_serialized(store: Store) -> None:
    chat = store.conversations.create("threads")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(25):
                store.messages.append(chat.id, "user", f"thread {n} message {i}")
                store.conversations.list_live()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    path = store.messages.active_path(chat.id)
    assert len(path) == 100  # each append hung under the previous active leaf: one chain
    assert len({m.content for m in path}) == 100


def test_second_process_connection_waits_instead_of_failing(db_path: Path) -> None:
    store = Store.open(db_path)
    other = Store.open(db_path, recover=False)
    chat = store.conversations.create("a")
    other.conversations.rename(chat.id, "b")
    assert store.conversations.get(chat.id).title == "b"
    other.close()
    store.close()


def test_store_imports_no_qt_and_no_llama() -> None:
    code = (
        "import sys, gptoss_desktop.core.store, gptoss_desktop.core.store.export, "
        "gptoss_desktop.core.store.compare_export, gptoss_desktop.core.compare.ratings; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'llama_cpp')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
