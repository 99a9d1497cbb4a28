"""The SQLite file: one connection, its pragmas, transactions and migrations.

Thread model: a :class:`Database` owns **one** ``sqlite3`` connection (opened with
``check_same_thread=False``) and every use of it goes through one re-entrant lock, so
calls from the UI thread, worker threads and streaming timers are serialized. Each call is
short (one row, one page of results), so nobody waits long. Other processes (a second
app instance, the crash test) use their own connections; WAL lets them read while one
writes, and the busy timeout makes a writer wait instead of failing at once.

Durability: WAL journal, ``synchronous=FULL`` (a committed transaction survives power
loss), foreign keys on.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from gptoss_desktop.core.errors import StoreError
from gptoss_desktop.core.paths import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, tighten
from gptoss_desktop.core.store.schema import LATEST_VERSION, MIGRATIONS, Migration, split_statements

BUSY_TIMEOUT_MS = 5000


def describe_sqlite_error(path: Path, exc: sqlite3.Error, action: str) -> str:
    """One line for the user: what failed and what to do about it."""
    text = str(exc)
    low = text.lower()
    if "locked" in low or "busy" in low:
        hint = "another gptoss-desktop window may be using it: close it and try again"
    elif "disk is full" in low or "database or disk is full" in low:
        hint = "the disk is full: free some space and try again"
    elif "not a database" in low or "malformed" in low or "corrupt" in low:
        hint = "the file is damaged or not a gptoss-desktop database: move it away and restart"
    elif "readonly" in low or "unable to open" in low or "permission" in low:
        hint = "check that the folder exists and is writable"
    else:
        hint = "see the details, and report it if it happens again"
    return f"Could not {action} the chat database {path} ({text}): {hint}."


def _make_private(path: Path) -> None:
    """Create the database file 0600 before SQLite does (SQLite gives the WAL and SHM files
    the database file's mode) and tighten an existing one and its WAL/SHM files."""
    if str(path) == ":memory:":
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        tighten(p)


class Database:
    """One open SQLite file with the project's schema, migrated to the latest version."""

    def __init__(
        self,
        path: Path,
        *,
        migrations: Sequence[Migration] = MIGRATIONS,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    ) -> None:
        self.path = Path(path)
        self.lock = threading.RLock()
        self._depth = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
            _make_private(self.path)
            conn = sqlite3.connect(
                str(self.path),
                timeout=busy_timeout_ms / 1000,
                isolation_level=None,  # autocommit; transactions are explicit (BEGIN IMMEDIATE)
                check_same_thread=False,
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"Could not open the chat database {self.path} ({exc}): check that the folder "
                "exists and is writable.",
            ) from exc
        conn.row_factory = sqlite3.Row
        self._conn: sqlite3.Connection | None = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self.journal_mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self.migrate(migrations)
        except sqlite3.Error as exc:
            conn.close()
            self._conn = None
            raise StoreError(describe_sqlite_error(self.path, exc, "open")) from exc
        except BaseException:
            conn.close()
            self._conn = None
            raise

    # --- connection access ---------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("The chat database is closed: reopen the store.")
        return self._conn

    @property
    def user_version(self) -> int:
        with self.lock:
            return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self, action: str = "write to") -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE ... COMMIT), rolled back on any exception.

        Nested use on the same thread joins the outer transaction.
        """
        with self.lock:
            conn = self.conn
            if self._depth > 0:
                self._depth += 1
                try:
                    yield conn
                finally:
                    self._depth -= 1
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(describe_sqlite_error(self.path, exc, action)) from exc
            self._depth = 1
            try:
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback(conn)
                raise StoreError(describe_sqlite_error(self.path, exc, action)) from exc
            except BaseException:
                self._rollback(conn)
                raise
            finally:
                self._depth = 0

    @contextmanager
    def reading(self, action: str = "read") -> Iterator[sqlite3.Connection]:
        """Use the connection for reads; SQLite errors become :class:`StoreError`."""
        with self.lock:
            try:
                yield self.conn
            except sqlite3.Error as exc:
                raise StoreError(describe_sqlite_error(self.path, exc, action)) from exc

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    def close(self) -> None:
        with self.lock:
            if self._conn is not None:
                try:
                    self._conn.execute("PRAGMA optimize")  # advisory: refreshes query statistics
                except sqlite3.Error:
                    pass  # a busy or read-only file: closing matters more than statistics
                finally:
                    self._conn.close()
                    self._conn = None

    # --- migrations ----------------------------------------------------------------------
    def migrate(self, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
        """Apply every migration newer than the file's ``user_version``; return their numbers."""
        latest = migrations[-1].version if migrations else 0
        with self.lock:
            conn = self.conn
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if current > latest:
                raise StoreError(
                    f"The chat database {self.path} was written by a newer gptoss-desktop "
                    f"(schema {current}, this app knows {latest}): update the app.",
                )
            applied: list[int] = []
            for migration in migrations:
                if migration.version <= current:
                    continue
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in split_statements(migration.sql):
                        conn.execute(statement)
                    if migration.apply is not None:
                        migration.apply(conn)
                    conn.execute(f"PRAGMA user_version = {int(migration.version)}")
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._rollback(conn)
                    raise StoreError(
                        f"Could not upgrade the chat database {self.path} to schema "
                        f"{migration.version} ({exc}); it was left unchanged at schema "
                        f"{current if not applied else applied[-1]}: report this with the details.",
                        details=migration.description,
                    ) from exc
                except BaseException:
                    self._rollback(conn)
                    raise
                applied.append(migration.version)
            return applied


__all__ = ["LATEST_VERSION", "Database", "describe_sqlite_error"]
