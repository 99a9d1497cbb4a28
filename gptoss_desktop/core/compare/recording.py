"""Save a comparison in the store while it runs, and read it back.

``ComparisonRecorder`` is a ``CompareRun`` listener: it creates the comparison when the
run starts, appends streamed text as it arrives (in batches, at most every
``flush_s`` seconds per column, so a fast model does not become a flood of transactions),
and writes each column's status, metrics and error when it ends. The blind order is saved
in each column's settings (``shown_slot``) so a reopened blind comparison can still be
voted on with the names hidden. Votes go through :meth:`record_vote`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gptoss_desktop.core.compare.blind import BlindOrder, Vote
from gptoss_desktop.core.compare.metrics import ColumnMetrics
from gptoss_desktop.core.compare.ratings import Standing, leaderboard
from gptoss_desktop.core.compare.runner import (
    ColumnEnded,
    ColumnState,
    ColumnStateChanged,
    ColumnText,
    CompareRun,
    RunUpdate,
)
from gptoss_desktop.core.errors import StoreError
from gptoss_desktop.core.store.records import ColumnSpec, ColumnStatus, Comparison, StoredVote
from gptoss_desktop.core.store.store import Store
from gptoss_desktop.core.templating.templates import ChatMessage

STORE_STATUS: dict[ColumnState, ColumnStatus] = {
    "pending": "pending",
    "queued": "pending",
    "loading": "pending",
    "streaming": "streaming",
    "done": "done",
    "error": "error",
    "cancelled": "cancelled",
}


def column_specs(run: CompareRun) -> list[ColumnSpec]:
    """What the store keeps of each column: its label and the settings to run it again."""
    specs: list[ColumnSpec] = []
    for pos, setup in enumerate(run.columns):
        settings: dict[str, Any] = {
            "model_path": str(setup.model_path),
            "sampling": run.sampling_for(pos).to_wire(),
            "max_tokens": setup.max_tokens or run.settings.max_tokens,
            "n_ctx": run.settings.n_ctx,
            "blind": run.settings.blind,
            "shown_slot": run.blind.slot_of(pos),
        }
        if setup.system_prompt is not None:
            settings["system_prompt"] = setup.system_prompt
        specs.append(ColumnSpec(setup.name, settings))
    return specs


class ComparisonRecorder:
    def __init__(self, store: Store, *, flush_s: float = 0.5) -> None:
        self.store = store
        self.flush_s = flush_s
        self.comparison_id: int | None = None
        self._column_ids: list[int] = []
        self._lock = threading.Lock()
        self._pending: dict[int, list[list[str]]] = {}  # position -> [answer, reasoning]
        self._last_flush: dict[int, float] = {}
        self.error: StoreError | None = None

    def begin(self, run: CompareRun, prompt: str, history: Sequence[ChatMessage] = ()) -> int:
        """Create the comparison (before ``run.start``); returns its id."""
        settings_prompt = run.settings.system_prompt
        messages = [{"role": "system", "content": settings_prompt}] if settings_prompt else []
        messages += [{"role": m.role, "content": m.content} for m in history]
        comparison = self.store.comparisons.create(prompt, column_specs(run), messages=messages)
        self.comparison_id = comparison.id
        self._column_ids = [c.id for c in comparison.columns]
        return comparison.id

    def __call__(self, update: RunUpdate) -> None:
        """The run listener (called from column threads).

        A store failure does not stop the run: the first one is kept in :attr:`error` (for
        the view to show) and nothing more is written for this comparison.
        """
        if self.comparison_id is None or self.error is not None:
            return
        try:
            self._record(update)
        except StoreError as exc:
            with self._lock:
                self.error = self.error or exc

    def _record(self, update: RunUpdate) -> None:
        if isinstance(update, ColumnText):
            with self._lock:
                buf = self._pending.setdefault(update.position, [[], []])
                buf[1 if update.channel == "analysis" else 0].append(update.text)
                due = time.monotonic() - self._last_flush.get(update.position, 0.0) >= self.flush_s
            if due:
                self._flush(update.position)
        elif isinstance(update, ColumnStateChanged) and update.state == "streaming":
            self.store.comparisons.update_column(
                self._column_ids[update.position], status="streaming"
            )
        elif isinstance(update, ColumnEnded):
            result = update.result
            self._flush(result.position)
            metrics = {k: v for k, v in result.metrics.to_dict().items() if k != "final"}
            self.store.comparisons.update_column(
                self._column_ids[result.position],
                output=result.answer,
                reasoning=result.reasoning,
                status=STORE_STATUS[result.state],
                error=result.error,
                metrics=metrics,
            )

    def _flush(self, position: int) -> None:
        with self._lock:
            answer, reasoning = self._pending.pop(position, [[], []])
            self._last_flush[position] = time.monotonic()
        if answer or reasoning:
            self.store.comparisons.append_column_text(
                self._column_ids[position], output="".join(answer), reasoning="".join(reasoning)
            )

    def record_vote(self, vote: Vote) -> StoredVote:
        if self.comparison_id is None:
            raise RuntimeError("nothing to vote on: the comparison was not saved")
        return record_vote(self.store, self.comparison_id, vote)


def record_vote(store: Store, comparison_id: int, vote: Vote) -> StoredVote:
    return store.votes.record(
        comparison_id,
        shown_order=vote.shown_order,
        outcome=vote.outcome,
        winner_position=vote.winner_position,
    )


@dataclass(frozen=True)
class SavedColumn:
    """A stored column as the view shows it again."""

    position: int
    label: str
    answer: str
    reasoning: str
    metrics: ColumnMetrics
    status: str
    error: str | None
    settings: dict[str, Any]


def saved_columns(comparison: Comparison) -> list[SavedColumn]:
    return [
        SavedColumn(
            position=c.position,
            label=c.model,
            answer=c.output,
            reasoning=c.reasoning,
            metrics=ColumnMetrics.from_dict({**(c.metrics or {}), "final": True}),
            status=c.status,
            error=c.error,
            settings=dict(c.settings),
        )
        for c in comparison.columns
    ]


def saved_blind_order(comparison: Comparison) -> tuple[BlindOrder, bool]:
    """The order the columns were shown in, and whether the comparison was blind."""
    if comparison.vote is not None:
        order = BlindOrder(tuple(comparison.vote.shown_order))
    else:
        slots: dict[int, int] = {
            c.position: s
            for c in comparison.columns
            if isinstance(s := c.settings.get("shown_slot"), int)
        }
        if sorted(slots.values()) == list(range(len(comparison.columns))):
            order = BlindOrder(tuple(sorted(slots, key=slots.__getitem__)))
        else:
            order = BlindOrder.identity(len(comparison.columns))
    blind = any(bool(c.settings.get("blind")) for c in comparison.columns)
    return order, blind


def standings(store: Store) -> list[Standing]:
    """The leaderboard of every vote saved: Elo rating, win rate, votes behind it."""
    return leaderboard(store.votes.records())
