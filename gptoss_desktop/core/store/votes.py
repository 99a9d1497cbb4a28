"""Blind votes on comparisons: one per comparison, with the order the columns were shown in."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence

from gptoss_desktop.core.errors import StoreError
from gptoss_desktop.core.store.database import Database
from gptoss_desktop.core.store.records import (
    VOTE_OUTCOMES,
    StoredVote,
    VoteOutcome,
    VoteRecord,
    check_choice,
    to_json,
)


def vote_from_row(row: sqlite3.Row) -> StoredVote:
    order = json.loads(row["shown_order"] or "[]")
    return StoredVote(
        id=int(row["id"]),
        comparison_id=int(row["comparison_id"]),
        created_at=float(row["created_at"]),
        shown_order=tuple(int(p) for p in order),
        outcome=row["outcome"],
        winner_position=None if row["winner_position"] is None else int(row["winner_position"]),
    )


class VoteRepo:
    """The user's blind votes; :meth:`records` feeds core.compare.ratings."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(
        self,
        comparison_id: int,
        *,
        shown_order: Sequence[int],
        outcome: VoteOutcome,
        winner_position: int | None = None,
        created_at: float | None = None,
    ) -> StoredVote:
        """Save the user's blind vote, replacing an earlier vote on the same comparison.

        ``shown_order``: the column positions in the order they were shown (left to right)
        after the blind shuffle; at least two. ``winner_position``: the winning column's
        position, required for ``win`` and not allowed otherwise (``tie``, ``all_bad``).
        """
        check_choice(outcome, VOTE_OUTCOMES, "vote outcome")
        order = [int(p) for p in shown_order]
        with self._db.transaction() as conn:
            if (
                conn.execute("SELECT 1 FROM comparisons WHERE id = ?", (comparison_id,)).fetchone()
                is None
            ):
                raise StoreError(
                    f"Comparison {comparison_id} does not exist (it may have been deleted)."
                )
            positions = {
                int(r[0])
                for r in conn.execute(
                    "SELECT position FROM comparison_columns WHERE comparison_id = ?",
                    (comparison_id,),
                )
            }
            if len(order) < 2 or len(set(order)) != len(order) or not set(order) <= positions:
                raise StoreError(
                    f"A vote must show at least two different columns of comparison "
                    f"{comparison_id} (columns {sorted(positions)}), not {order}."
                )
            if outcome == "win":
                if winner_position not in order:
                    raise StoreError("A win vote needs the winning column, one of those shown.")
            elif winner_position is not None:
                raise StoreError(f"A {outcome} vote has no winner.")
            conn.execute("DELETE FROM votes WHERE comparison_id = ?", (comparison_id,))
            conn.execute(
                "INSERT INTO votes (comparison_id, created_at, shown_order, outcome, "
                "winner_position) VALUES (?, ?, ?, ?, ?)",
                (
                    comparison_id,
                    time.time() if created_at is None else float(created_at),
                    to_json(order, "the shown order"),
                    outcome,
                    winner_position,
                ),
            )
            row = conn.execute(
                "SELECT * FROM votes WHERE comparison_id = ?", (comparison_id,)
            ).fetchone()
            return vote_from_row(row)

    def clear(self, comparison_id: int) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM votes WHERE comparison_id = ?", (comparison_id,))

    def records(self) -> list[VoteRecord]:
        """Every vote as model labels, oldest first: the input of compare.ratings."""
        with self._db.reading() as conn:
            votes = [
                vote_from_row(r)
                for r in conn.execute("SELECT * FROM votes ORDER BY created_at, id")
            ]
            models: dict[tuple[int, int], str] = {
                (int(r[0]), int(r[1])): str(r[2])
                for r in conn.execute(
                    "SELECT comparison_id, position, model FROM comparison_columns"
                )
            }
        records: list[VoteRecord] = []
        for v in votes:
            records.append(
                VoteRecord(
                    comparison_id=v.comparison_id,
                    created_at=v.created_at,
                    shown_models=tuple(models[(v.comparison_id, p)] for p in v.shown_order),
                    outcome=v.outcome,
                    winner_model=None
                    if v.winner_position is None
                    else models[(v.comparison_id, v.winner_position)],
                )
            )
        return records
