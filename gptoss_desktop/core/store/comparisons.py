"""Compare mode: saved comparisons (2-4 columns) with each column's output, reasoning, metrics
and status. Votes on them: votes.py."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from typing import Any

from gptoss_desktop.core.errors import StoreError
from gptoss_desktop.core.store.database import Database
from gptoss_desktop.core.store.records import (
    COLUMN_STATUSES,
    ColumnSpec,
    ColumnStatus,
    Comparison,
    ComparisonColumn,
    check_choice,
    json_object,
    to_json,
)
from gptoss_desktop.core.store.votes import vote_from_row

MIN_COLUMNS = 2
MAX_COLUMNS = 4


def _loads(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def column_from_row(row: sqlite3.Row) -> ComparisonColumn:
    settings = _loads(row["settings"], {})
    metrics = _loads(row["metrics"], None)
    return ComparisonColumn(
        id=int(row["id"]),
        comparison_id=int(row["comparison_id"]),
        position=int(row["position"]),
        model=str(row["model"]),
        settings=settings if isinstance(settings, dict) else {},
        output=str(row["output"]),
        reasoning=str(row["reasoning"]),
        metrics=metrics if isinstance(metrics, dict) else None,
        status=row["status"],
        error=row["error"],
        updated_at=float(row["updated_at"]),
    )


def default_title(prompt: str) -> str:
    line = " ".join(prompt.split())
    return (line[:80] + "…") if len(line) > 80 else (line or "Comparison")


class ComparisonRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        prompt: str,
        columns: Sequence[ColumnSpec],
        *,
        messages: Sequence[Mapping[str, Any]] = (),
        title: str | None = None,
        created_at: float | None = None,
    ) -> Comparison:
        """Save a new comparison; its columns start ``pending``, positions 0.. in order given.

        ``messages`` is the conversation sent before ``prompt`` (JSON objects such as
        ``{"role": "user", "content": "..."}``), empty for a single prompt.
        """
        if not MIN_COLUMNS <= len(columns) <= MAX_COLUMNS:
            raise StoreError(
                f"A comparison needs {MIN_COLUMNS} to {MAX_COLUMNS} columns, not {len(columns)}."
            )
        for spec in columns:
            if not isinstance(spec.model, str) or not spec.model.strip():
                raise StoreError("Every compare column needs a model name.")
        messages_json = to_json(
            [json_object(m, "a conversation message") for m in messages], "the conversation"
        )
        now = time.time() if created_at is None else float(created_at)
        with self._db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO comparisons (title, prompt, messages, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (title or default_title(prompt), prompt, messages_json, now, now),
            )
            comparison_id = int(cur.lastrowid or 0)
            for position, spec in enumerate(columns):
                conn.execute(
                    "INSERT INTO comparison_columns (comparison_id, position, model, settings, "
                    "updated_at) VALUES (?, ?, ?, ?, ?)",
                    (
                        comparison_id,
                        position,
                        spec.model.strip(),
                        to_json(json_object(spec.settings, "column settings"), "column settings"),
                        now,
                    ),
                )
            return self._get(conn, comparison_id)

    def get(self, comparison_id: int) -> Comparison:
        with self._db.reading() as conn:
            return self._get(conn, comparison_id)

    @staticmethod
    def _get(conn: sqlite3.Connection, comparison_id: int) -> Comparison:
        row = conn.execute("SELECT * FROM comparisons WHERE id = ?", (comparison_id,)).fetchone()
        if row is None:
            raise StoreError(
                f"Comparison {comparison_id} does not exist (it may have been deleted)."
            )
        columns = conn.execute(
            "SELECT * FROM comparison_columns WHERE comparison_id = ? ORDER BY position",
            (comparison_id,),
        ).fetchall()
        vote = conn.execute(
            "SELECT * FROM votes WHERE comparison_id = ?", (comparison_id,)
        ).fetchone()
        messages = _loads(row["messages"], [])
        return Comparison(
            id=int(row["id"]),
            title=str(row["title"]),
            prompt=str(row["prompt"]),
            messages=tuple(m for m in messages if isinstance(m, dict)),
            created_at=float(row["created_at"]),
            updated_at=float(row["updated_at"]),
            columns=tuple(column_from_row(c) for c in columns),
            vote=None if vote is None else vote_from_row(vote),
        )

    def list_recent(self, *, limit: int | None = None) -> list[Comparison]:
        """Saved comparisons, newest first."""
        with self._db.reading() as conn:
            ids = [
                int(r[0])
                for r in conn.execute(
                    "SELECT id FROM comparisons ORDER BY created_at DESC, id DESC LIMIT ?",
                    (-1 if limit is None else int(limit),),
                )
            ]
            return [self._get(conn, i) for i in ids]

    def delete(self, comparison_id: int) -> None:
        """Delete a comparison with its columns and vote (the vote leaves the leaderboard)."""
        with self._db.transaction() as conn:
            cur = conn.execute("DELETE FROM comparisons WHERE id = ?", (comparison_id,))
            if cur.rowcount == 0:
                raise StoreError(f"Comparison {comparison_id} does not exist.")

    # --- columns -----------------------------------------------------------------------------
    def column(self, column_id: int) -> ComparisonColumn:
        with self._db.reading() as conn:
            return self._column(conn, column_id)

    @staticmethod
    def _column(conn: sqlite3.Connection, column_id: int) -> ComparisonColumn:
        row = conn.execute("SELECT * FROM comparison_columns WHERE id = ?", (column_id,)).fetchone()
        if row is None:
            raise StoreError(f"Compare column {column_id} does not exist.")
        return column_from_row(row)

    def update_column(
        self,
        column_id: int,
        *,
        output: str | None = None,
        reasoning: str | None = None,
        status: ColumnStatus | None = None,
        error: str | None = None,
        metrics: Mapping[str, Any] | None = None,
    ) -> ComparisonColumn:
        """Change the given fields of a column (``None`` leaves a field as it is)."""
        check_choice(status, COLUMN_STATUSES, "column status")
        sets: list[str] = []
        values: list[object] = []
        for name, value in (
            ("output", output),
            ("reasoning", reasoning),
            ("status", status),
            ("error", error),
        ):
            if value is not None:
                sets.append(f"{name} = ?")
                values.append(value)
        if metrics is not None:
            sets.append("metrics = ?")
            values.append(to_json(json_object(metrics, "metrics"), "metrics"))
        with self._db.transaction() as conn:
            column = self._column(conn, column_id)
            if sets:
                now = time.time()
                conn.execute(
                    f"UPDATE comparison_columns SET {', '.join(sets)}, updated_at = ? WHERE id = ?",
                    (*values, now, column_id),
                )
                conn.execute(
                    "UPDATE comparisons SET updated_at = ? WHERE id = ?",
                    (now, column.comparison_id),
                )
            return self._column(conn, column_id)

    def reset_column(self, column_id: int) -> ComparisonColumn:
        """Clear a column for a rerun: no output, reasoning, metrics or error; ``pending``."""
        with self._db.transaction() as conn:
            self._column(conn, column_id)
            conn.execute(
                "UPDATE comparison_columns SET output = '', reasoning = '', metrics = NULL, "
                "error = NULL, status = 'pending', updated_at = ? WHERE id = ?",
                (time.time(), column_id),
            )
            return self._column(conn, column_id)

    def append_column_text(self, column_id: int, *, output: str = "", reasoning: str = "") -> None:
        with self._db.transaction("save streamed text to") as conn:
            cur = conn.execute(
                "UPDATE comparison_columns SET output = output || ?, reasoning = reasoning || ?, "
                "updated_at = ? WHERE id = ?",
                (output, reasoning, time.time(), column_id),
            )
            if cur.rowcount == 0:
                raise StoreError(f"Compare column {column_id} does not exist.")

    def recover_interrupted(self) -> int:
        """Mark columns left ``pending``/``streaming`` by a crash as ``interrupted``."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE comparison_columns SET status = 'interrupted' "
                "WHERE status IN ('pending', 'streaming')"
            )
            return int(cur.rowcount)
